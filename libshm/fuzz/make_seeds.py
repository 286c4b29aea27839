"""Writes seed corpora for the fuzz targets from the golden vectors (compat/vectors).

usage: make_seeds.py VECTORS_DIR OUT_DIR  ->  OUT_DIR/{list_decode,pickle_loads,item_json,npy_header}/
(npy_header has no vectors: it starts from its regression corpus, numpy-written headers.)
"""
import hashlib
import json
import os
import sys


def main(vectors, out):
    seeds = {"list_decode": set(), "pickle_loads": set(), "item_json": set(), "npy_header": set()}
    for version in sorted(os.listdir(vectors)):
        folder = os.path.join(vectors, version)
        with open(os.path.join(folder, "shareable_list.json")) as f:
            for case in json.load(f)["cases"]:
                seeds["list_decode"].add(bytes.fromhex(case["block"]))
                if "block_after" in case:
                    seeds["list_decode"].add(bytes.fromhex(case["block_after"]))
                seeds["item_json"].add(json.dumps(case["items"]).encode())
        with open(os.path.join(folder, "pickle.json")) as f:
            for case in json.load(f)["cases"]:
                seeds["pickle_loads"].add(bytes.fromhex(case["hex"]))
    for target, blobs in seeds.items():
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for blob in blobs:
            name = hashlib.sha1(blob).hexdigest()
            with open(os.path.join(folder, name), "wb") as f:
                f.write(blob)
        print("%s: %d seeds" % (target, len(blobs)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
