"""Hand-written semantic mutants: the bugs a tired developer writes, one edit each, that the suite
must catch. ``python scripts/mutation.py --corpus`` applies each to a copy of the repository, runs
the test files named, and fails if any mutant survives (CI runs it).

Each entry: (id, class, file, the exact text replaced, its replacement, the tests that must catch it:
files or pytest ids, so a run stays short). The text must
occur exactly once in the file; a mutant whose text is gone (the code moved) is reported as stale,
which also fails the run, so the corpus follows the code."""

_C = "tests/test_contracts.py::"
OPTIONS = _C + "test_every_option_of_every_method_changes_the_grid"
SOLVERS = _C + "test_solver_specific_methods_and_only_they_depend_on_the_solver"
SEEDED = _C + "test_seeded_methods_and_only_they_depend_on_the_seed"
CACHE = _C + "test_every_cache_keys_on_every_argument"
STANDIN_CACHE = _C + "test_the_standin_cache_keys_on_every_argument"
MODEL_OPTIONS = _C + "test_every_model_option_reaches_the_model"
SEED_LABEL = _C + "test_a_seeds_noise_and_label_come_from_that_seed_alone"
ANY_BATCH = _C + "test_a_seeds_image_is_the_same_in_any_batch"
LABELS = _C + "test_random_labels_come_from_the_generator_given"
UINT8 = _C + "test_images_are_quantised_as_edm_saves_them"
PSD = _C + "test_a_covariance_with_one_negative_eigenvalue_is_refused"
SIZES = _C + "test_sizes_at_and_just_past_their_limit"
P, H, D = "tests/test_peers.py::", "tests/test_heun_cost.py::", "tests/test_diffusers.py::"
DMN = [P + "test_dmn_reproduces_the_reference_run_and_is_geometric_at_order_1",
       P + "test_dmn_objective_equals_lagrange_weights_by_quadrature"]

PEERS = [
    ("gits-discount-wrong-term", "peer algorithm", "artlib/methods/gits.py",
     "v = cost[i, j] + gamma * V[k - 1, j]", "v = gamma * cost[i, j] + V[k - 1, j]", [P + "test_gits_dynamic_programme_finds_the_best_discounted_path"]),
    ("gits-ties-to-later-index", "peer algorithm", "artlib/methods/gits.py",
     "if v < best:", "if v <= best:", [P + "test_gits_dynamic_programme_breaks_ties_towards_the_smaller_index"]),
    ("dmn-trunc-boundary", "peer algorithm", "artlib/methods/dmn.py",
     "trunc = (3 if N <= 7 else 0)", "trunc = (3 if N < 7 else 0)", DMN),
    ("dmn-trunc-inclusive", "peer algorithm", "artlib/methods/dmn.py",
     "if s >= trunc:", "if s > trunc:", DMN),
    ("ays-linear-readout", "peer algorithm", "artlib/methods/ays.py",
     "pts = np.exp(np.interp(np.linspace(0, 1, K), np.linspace(0, 1, len(s)), np.log(s)))",
     "pts = np.interp(np.linspace(0, 1, K), np.linspace(0, 1, len(s)), s)", [P + "test_ays_reads_its_table_log_linearly_at_k"]),
    ("ld3-last-iterate", "peer algorithm", "artlib/methods/ld3.py",
     "out = grid(best_w)", "out = grid(w.detach())", [P + "test_ld3_returns_its_best_evaluated_grid_not_its_last"]),
    ("gits-teacher-euler", "peer algorithm", "artlib/methods/gits.py",
     'states.append(advance(den, states[-1], fine, solver="heun", class_labels=labels))',
     'states.append(advance(den, states[-1], fine, solver="euler", class_labels=labels))', [P + "test_gits_cost_matrix_is_the_euler_jump_against_the_teacher", P + "test_gits_teacher_grid_holds_the_published_cifar10_schedule"]),
]

REGISTRY = [
    ("optimal-ignores-fine-steps", "registry wiring", "artlib/methods/registry.py",
     'fine_steps=int(o["fine_steps"]), seed=seed,', "fine_steps=512, seed=seed,", [OPTIONS]),
    ("gits-metric-inverted", "registry wiring", "artlib/methods/registry.py",
     'metric="l2" if o["l2"] else "dev"', 'metric="dev" if o["l2"] else "l2"',
     [_C + "test_the_registry_passes_each_option_as_its_method_documents"]),
    ("ld3-ignores-solver", "registry wiring", "artlib/methods/registry.py",
     's, cost = ld3_sigmas(den, K, solver, n=int(o["n"])', 's, cost = ld3_sigmas(den, K, "euler", n=int(o["n"])',
     [SOLVERS]),
    ("gits-ignores-seed", "registry wiring", "artlib/methods/registry.py",
     'metric="l2" if o["l2"] else "dev", gamma=o["gamma"], seed=seed,', 'metric="l2" if o["l2"] else "dev", gamma=o["gamma"], seed=0,',
     [SEEDED]),
    ("ddim-trailing-inverted", "registry wiring", "artlib/methods/registry.py",
     'ddim_sigmas(den, K, trailing=bool(o["trailing"]))', 'ddim_sigmas(den, K, trailing=not o["trailing"])',
     [_C + "test_the_registry_passes_each_option_as_its_method_documents"]),
    ("edm-rho-ignored", "registry wiring", "artlib/methods/registry.py",
     'edm_sigmas(K, den.sigma_min, den.sigma_max, o["rho"])', "edm_sigmas(K, den.sigma_min, den.sigma_max, RHO)",
     [OPTIONS]),
    ("optimal-heun-ignored", "registry wiring", "artlib/methods/registry.py",
     'solver="heun" if o["heun"] else "euler", last_step=last)', 'solver="euler", last_step=last)',
     [OPTIONS]),
    ("standin-sigma-max-ignored", "registry wiring", "artlib/models/registry.py",
     'opts.get("sigma_min", SIGMA_MIN), opts.get("sigma_max", SIGMA_MAX))', 'opts.get("sigma_min", SIGMA_MIN), SIGMA_MAX)',
     [MODEL_OPTIONS]),
]

CACHES = [
    ("ays-key-drops-seed", "cache key", "artlib/methods/ays.py",
     'per_model(den, ("ays", n, sweeps, seed),', 'per_model(den, ("ays", n, sweeps),', [CACHE]),
    ("gits-key-drops-batch", "cache key", "artlib/methods/gits.py",
     'per_model(den, ("gits", teacher_points, batch, metric, substeps, seed),',
     'per_model(den, ("gits", teacher_points, metric, substeps, seed),', [CACHE]),
    ("profile-key-drops-fine-steps", "cache key", "artlib/art/optimum.py",
     'per_model(denoiser, ("q_profile", n, fine_steps, seed)', 'per_model(denoiser, ("q_profile", n, seed)',
     [CACHE]),
    ("profile-key-drops-order", "cache key", "artlib/art/optimum.py",
     '+ (() if order == 2 else (order,)), make)', ", make)", [CACHE]),
]

SEEDS = [
    ("labels-from-global-generator", "seeds", "artlib/core/samplers.py",
     "torch.eye(d, dtype=torch.float64)[torch.randint(d, (n,), generator=generator)]",
     "torch.eye(d, dtype=torch.float64)[torch.randint(d, (n,))]", [LABELS]),
    ("seed-label-drawn-first", "seeds", "artlib/core/samplers.py",
     "        zs.append(torch.randn(tuple(denoiser.shape), generator=g, dtype=torch.float64))\n        if label_dim:\n            labels.append(int(torch.randint(label_dim, (1,), generator=g)))",
     "        if label_dim:\n            labels.append(int(torch.randint(label_dim, (1,), generator=g)))\n        zs.append(torch.randn(tuple(denoiser.shape), generator=g, dtype=torch.float64))",
     [SEED_LABEL]),
    ("seed-label-from-batch-position", "seeds", "artlib/core/samplers.py",
     "labels.append(int(torch.randint(label_dim, (1,), generator=g)))", "labels.append(len(labels) % label_dim)",
     [SEED_LABEL, ANY_BATCH]),
    ("psi-offsets-shifted-a-node", "seeds", "artlib/art/psiclock.py",
     "((torch.arange(M, dtype=torch.float64) + off[:, None]) / M).clamp(max=1.0)",
     "((torch.arange(M, dtype=torch.float64) + 1 + off[:, None]) / M).clamp(max=1.0)", ["tests/test_psiclock.py"]),
]

EDGES = [
    ("uint8-rounds-off-edm", "edge", "artlib/core/samplers.py",
     "a = np.asarray(x, dtype=np.float64) * 127.5 + 128", "a = np.asarray(x, dtype=np.float64) * 127.5 + 127.5",
     [UINT8]),
    ("psd-check-wrong-end", "edge", "artlib/models/gaussian.py",
     "lam_min = np.linalg.eigvalsh(cov).min(axis=1)", "lam_min = np.linalg.eigvalsh(cov).max(axis=1)",
     [PSD]),
    ("gaussian-dim-limit-off-by-one", "edge", "artlib/models/registry.py",
     "if dim != int(dim) or not 1 <= dim <= 10 ** 7:", "if dim != int(dim) or not 1 <= dim < 10 ** 7:",
     [SIZES]),
    ("repeated-seed-boundary", "edge", "artlib/core/options.py",
     "if last is not None and lo <= last:", "if last is not None and lo < last:", [_C + "test_a_seed_given_twice_is_refused_and_adjacent_ranges_are_not"]),
    ("shard-checksum-unchecked", "edge", "artlib/eval/shards.py",
     'if _digest(array) != record.get("sha256"):', "if False:", ["tests/test_distributed.py::test_a_damaged_shard_is_computed_again_never_used"]),
    ("same-file-by-inode-dropped", "edge", "artlib/core/io.py",
     "return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)", "return False", [_C + "test_an_output_that_is_an_input_by_another_name_is_refused"]),
]

METHOD = [
    ("heun-r-sign", "method", "artlib/art/dynamics.py",
     "return f, q, x3, (3 * fxq - x3) / 12", "return f, q, x3, (3 * fxq + x3) / 12", [H + "test_r_is_the_closed_form_on_an_isotropic_gaussian"]),
    ("heun-split-wrong-power", "method", "artlib/core/schedules.py",
     "(phi[-1] - phi) ** 3 / (K - 1) ** 2 + euler", "(phi[-1] - phi) ** 3 / K ** 2 + euler", [H + "test_the_heun_split_minimises_the_summed_local_error_by_brute_force"]),
    ("equidistribution-ignores-order", "method", "artlib/core/schedules.py",
     "w = root(np.maximum(np.asarray(q_bar, dtype=np.float64), 0.0), order)",
     "w = np.sqrt(np.maximum(np.asarray(q_bar, dtype=np.float64), 0.0))", [H + "test_the_heun_closed_form_has_the_least_heun_proxy", "tests/test_schedules.py"]),
    ("psi-heun-cost-exponent", "method", "artlib/art/psiclock.py",
     "return (q / u ** (order - 1) + gamma * u) * dpsi / (2 * T)", "return (q / u + gamma * u) * dpsi / (2 * T)",
     [H + "test_the_learner_with_heun_cost_finds_the_heun_optimum"]),
    ("handover-evaluations-uncounted", "method", "artlib/art/optimum.py",
     "self.evaluations += self.n * (2 * (len(sigmas) - 1) - 1)", "self.evaluations += 0", [H + "test_the_measured_hand_over_beats_the_summed_magnitudes_and_is_counted"]),
    ("fd-step-absolute", "method", "artlib/art/dynamics.py",
     "h = FD_STEP * sig", "h = FD_STEP", ["tests/test_dynamics.py", D + "test_the_difference_fallbacks_step_is_the_measured_minimax"]),
    ("v-prediction-sign", "diffusers conversion", "artlib/models/diffusers.py",
     "return x / (s ** 2 + 1) - s / (s ** 2 + 1).sqrt() * out", "return x / (s ** 2 + 1) + s / (s ** 2 + 1).sqrt() * out",
     [D + "test_vp_conversions_by_hand"]),
    ("flow-export-shift-kept", "diffusers conversion", "artlib/export/diffusers.py",
     "s = validate_sigmas(sigmas)[:-1] / flow_shift(scheduler, mu)", "s = validate_sigmas(sigmas)[:-1]",
     [D + "test_flow_pipelines_equal_artlib_with_the_shift_compensated"]),
]

CORPUS = PEERS + REGISTRY + CACHES + SEEDS + EDGES + METHOD
