"""Stand-ins for the `paper` profile's downloads, so its code path runs end to end on a CPU.

The `paper` profile needs three things this machine cannot download: an EDM checkpoint, the FID
Inception weights and EDM's reference statistics (``fid-refs/*.npz``). The `paper-smoke` profile
uses, in their place:

- a narrow version of the small network (``artlib.smallnet``, width 16, trained for 600 steps
  on the digits when the assets are made, seconds), pickled the way EDM pickles its networks. EDM's
  ``torch_utils.persistence`` stores each network's class as the source code of its module plus
  the object's state, rebuilt on loading by ``torch_utils.persistence._reconstruct_persistent_obj``.
  ``write_edm_packages`` writes minimal ``torch_utils`` and ``dnnlib`` packages that read and
  write that format, and the snapshot loads through ``load_model("edm:...")`` exactly as a
  downloaded one does (and through EDM's own code: see tests/test_edm_repo.py);
- Inception weights of torch-fidelity's architecture with a random initialisation (He-normal
  convolutions, unit batch norm), whose features tell schedules apart;
- reference statistics of 128 held-out digits through those weights, in EDM's ``mu``/``sigma``
  format.

``ensure_assets(folder)`` makes what is missing and returns the paths.
"""
from __future__ import annotations

import inspect
import pickle
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

from ..core.io import atomic_write

#: torch_utils.persistence's format version that EDM's published snapshots carry.
PERSISTENCE_VERSION = 6
#: The smoke network: narrow enough that the paper path's mean-|Q| profile (256 paths × 512
#: steps, a JVP each) takes seconds on a CPU, where the width-48 digits-net takes minutes.
SMOKE_NET_WIDTH, SMOKE_NET_STEPS = 16, 600
#: Held-out digits in the smoke reference statistics (Inception on a CPU is the slow part).
SMOKE_REF_IMAGES = 128

_PERSISTENCE = textwrap.dedent('''\
    """Reads and writes EDM's persistent-class pickles (artlib's minimal stand-in for EDM's module
    of the same name): an object is stored as its class's module source plus its state."""
    import sys
    import types
    import uuid

    _modules = {}


    def _module_for(src):
        if src not in _modules:
            module = types.ModuleType("_imported_module_" + uuid.uuid4().hex)
            sys.modules[module.__name__] = module
            exec(compile(src, module.__name__, "exec"), module.__dict__)
            _modules[src] = module
        return _modules[src]


    def _reconstruct_persistent_obj(meta):
        if meta.get("type") != "class":
            raise ValueError("unsupported persistent object type %r" % meta.get("type"))
        cls = getattr(_module_for(meta["module_src"]), meta["class_name"])
        obj = cls.__new__(cls)
        state = dict(meta["state"] or {})
        if hasattr(obj, "__setstate__"):
            obj.__setstate__(state)
        else:
            obj.__dict__.update(state)
        return obj
''')

_DNNLIB = textwrap.dedent('''\
    """artlib's minimal stand-in for EDM's dnnlib: the EasyDict that pickles may reference."""


    class EasyDict(dict):
        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

        def __setattr__(self, name, value):
            self[name] = value
''')


def write_edm_packages(root: str | Path) -> Path:
    """Write minimal ``torch_utils`` (with ``persistence``) and ``dnnlib`` packages under ``root``:
    the modules an EDM snapshot needs importable (pass ``root`` as ``--edm-repo``)."""
    root = Path(root)
    files = {"torch_utils/__init__.py": "", "torch_utils/persistence.py": _PERSISTENCE,
             "dnnlib/__init__.py": _DNNLIB}
    for rel, text in files.items():
        atomic_write(root / rel, lambda tmp, text=text: Path(tmp).write_text(text))
    return root


def save_edm_snapshot(path: str | Path, net: torch.nn.Module, packages: str | Path) -> Path:
    """Pickle ``net`` as EDM's ``network-snapshot-*.pkl`` files hold it: a dict whose ``'ema'`` is
    a persistent object (its class's module source, its state). ``packages`` is a folder made by
    ``write_edm_packages`` (or an EDM clone)."""
    packages = str(Path(packages).resolve())
    if packages not in sys.path:
        sys.path.insert(0, packages)
    from torch_utils import persistence   # the reconstructor the pickle names
    cls = type(net)
    # the class's module source, self-contained: the imports and module constants its code names
    consts = "".join(f"{k} = {v!r}\n" for k, v in vars(inspect.getmodule(cls)).items()
                     if k.isupper() and isinstance(v, (int, float)) and k in inspect.getsource(cls))
    src = "import math\nimport torch\nfrom torch import nn\n\n" + consts + "\n\n" + inspect.getsource(cls)
    meta = {"type": "class", "version": PERSISTENCE_VERSION, "module_src": src,
            "class_name": cls.__name__, "state": dict(net.__dict__)}

    class Snapshot(pickle.Pickler):
        def reducer_override(self, obj):
            if obj is net:
                return persistence._reconstruct_persistent_obj, (meta,)
            return NotImplemented

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            Snapshot(f).dump({"ema": net, "augment_pipe": None,
                              "dataset_kwargs": {"path": "artlib digits stand-in"}})
    return atomic_write(path, write)


def random_inception_weights(path: str | Path, seed: int = 0) -> Path:
    """torch-fidelity's FID Inception with a random initialisation (He-normal convolutions, unit
    batch norm), saved in its weights-file format. Its features are not ImageNet's, but they
    respond to image content, so FIDs computed with it rank sample sets."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe
    get, load = fe.load_state_dict_from_url, fe.FeatureExtractorInceptionV3.load_state_dict
    fe.load_state_dict_from_url = lambda *a, **k: {}
    fe.FeatureExtractorInceptionV3.load_state_dict = lambda self, sd, *a, **k: None
    try:
        torch.manual_seed(seed)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    finally:
        fe.load_state_dict_from_url, fe.FeatureExtractorInceptionV3.load_state_dict = get, load
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.weight.fill_(1.0), m.bias.zero_(), m.running_mean.zero_(), m.running_var.fill_(1.0)
    return atomic_write(path, lambda tmp: torch.save(net.state_dict(), tmp))


def reference_npz(path: str | Path, weights: str | Path, images: torch.Tensor, batch: int = 64) -> Path:
    """EDM-format reference statistics (``mu``, ``sigma``) of uint8 images [n, C, H, W]."""
    from ..eval import fid
    net = fid.inception(weights)
    mu, sigma = fid.statistics(fid.features((images[i:i + batch] for i in range(0, len(images), batch)), net))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, mu=mu, sigma=sigma)
    return atomic_write(path, write)


def ensure_assets(folder: str | Path) -> dict[str, str]:
    """The paper-smoke assets in ``folder`` (made where missing): ``folder`` itself, ``edm_repo``,
    ``model`` (an ``edm:`` spec), ``inception_weights`` and ``fid_ref``."""
    from ..core.samplers import to_uint8
    from ..models.smallnet import fit
    from ..models.standins import held_out, split
    folder = Path(folder).resolve()
    repo, snap = folder / "edm", folder / "network-snapshot-digits.pkl"
    weights, ref = folder / "inception-random.pth", folder / "digits-ref.npz"
    if not (repo / "torch_utils" / "persistence.py").is_file():
        write_edm_packages(repo)
    if not snap.is_file():
        data = torch.from_numpy(split("digits")[0]).unsqueeze(1)
        save_edm_snapshot(snap, fit(data, steps=SMOKE_NET_STEPS, width=SMOKE_NET_WIDTH, progress=False)[0], repo)
    if not weights.is_file():
        random_inception_weights(weights)
    if not ref.is_file():
        held = torch.from_numpy(to_uint8(held_out("digits")[:SMOKE_REF_IMAGES].numpy())).permute(0, 3, 1, 2)
        reference_npz(ref, weights, held)
    return {"folder": str(folder), "edm_repo": str(repo), "model": f"edm:{snap}",
            "inception_weights": str(weights), "fid_ref": str(ref)}
