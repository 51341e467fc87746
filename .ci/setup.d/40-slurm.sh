# SLURM: a single-node cluster (slurm-wlm + munge from apt) for tests/slurm_test.ts.
# tools/slurm/start-local.sh installs and starts it, or does nothing when `sinfo`
# already shows an idle node; its waits are bounded and it names the step that failed.
# With VOXLAB_REQUIRE_SLURM=1 the SLURM tests fail instead of skipping.
if ! bash tools/slurm/start-local.sh; then
  echo "ci: setup 40-slurm.sh: could not bring up SLURM (see the line above)" >&2
  return 1
fi
export VOXLAB_REQUIRE_SLURM=1
