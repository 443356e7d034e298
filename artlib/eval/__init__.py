"""Scoring what samplers produce: exact and sample metrics and the endpoint error (``metrics``), FID
(``fid``), images on disk (``images``), resumable seed shards (``shards``) and many processes
(``distributed``)."""
