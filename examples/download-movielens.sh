#!/bin/sh
# Download a MovieLens dataset from GroupLens and unpack it, for the
# recommender configs (configs/recsys-*.yaml) and source.interactions.
#
#   examples/download-movielens.sh [NAME] [DIR]
#
# NAME: ml-100k (default), ml-1m, ml-10m, ml-20m, ml-25m, ml-32m or
#       ml-latest-small; DIR: where to put it (default: examples/data/).
# Needs curl or wget, and unzip (or python3).  The data is under the
# GroupLens terms of use (research use, cite Harper & Konstan 2015, no
# redistribution): read DIR/NAME/README* before using it.
#
# Then, for example:
#   ML100K=examples/data/ml-100k/u.data assay run configs/recsys-ml100k.yaml
#   (relative paths in the environment are taken from the YAML's folder,
#   so prefer an absolute path: ML100K=$PWD/examples/data/ml-100k/u.data)
# source.interactions reads u.data, ratings.dat and ratings.csv directly,
# with the item/user files next to them as side information.
set -eu
name=${1:-ml-100k}
dir=${2:-$(dirname "$0")/data}
case $name in
ml-100k | ml-1m | ml-10m | ml-20m | ml-25m | ml-32m | ml-latest-small) ;;
*)
    echo "unknown dataset '$name' (ml-100k, ml-1m, ml-10m, ml-20m, ml-25m," \
        "ml-32m, ml-latest-small)" >&2
    exit 2
    ;;
esac
url=https://files.grouplens.org/datasets/movielens/$name.zip
mkdir -p "$dir"
zip=$dir/$name.zip
echo "downloading $url"
if command -v curl > /dev/null 2>&1; then
    curl -fL --retry 3 -o "$zip" "$url"
elif command -v wget > /dev/null 2>&1; then
    wget -O "$zip" "$url"
else
    echo "need curl or wget" >&2
    exit 1
fi
if command -v unzip > /dev/null 2>&1; then
    unzip -o -q "$zip" -d "$dir"
else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$dir"
fi
rm -f "$zip"
# ml-10m unpacks into ml-10M100K
[ "$name" = ml-10m ] && [ -d "$dir/ml-10M100K" ] && mv "$dir/ml-10M100K" "$dir/ml-10m"
for f in u.data ratings.dat ratings.csv; do
    if [ -f "$dir/$name/$f" ]; then
        echo "ready: $dir/$name/$f"
        exit 0
    fi
done
echo "unpacked into $dir/$name"
