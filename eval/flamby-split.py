#!/usr/bin/python3
"""FLamby's fixed Fed-Heart-Disease split, as row indices (eval/flamby-split.json).

Regenerate with Debian's scikit-learn (apt-get install -y python3-sklearn):

    /usr/bin/python3 eval/flamby-split.py ../shared/data/heart-disease > eval/flamby-split.json

Mirrors flamby/datasets/fed_heart_disease/dataset.py (owkin/FLamby): per centre, "?"
becomes missing, columns 10-12 (slope, ca, thal) are dropped, rows with any missing
value left are dropped, and the kept rows are split by
train_test_split(arange(n), test_size=1 - 0.66, train_size=0.66, random_state=43,
shuffle=True, stratify=label > 0 when both classes have more than 2 rows). pandas is
not needed: the files hold numbers and "?" only (checked below), so a row is kept
exactly when none of its kept fields is "?".

Writes, per centre, the 0-based indices (among the file's data lines) of the kept rows
and of the test rows. Row indices only: no values from the data.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split

CENTRES = [("cleveland", "processed.cleveland.data"), ("hungary", "processed.hungarian.data"),
           ("switzerland", "processed.switzerland.data"), ("va", "processed.va.data")]
DROPPED = {10, 11, 12}
TRAIN_FRACTION = 0.66


def split_centre(path):
    with open(path) as f:
        rows = [line.strip().split(",") for line in f if line.strip() != ""]
    for i, r in enumerate(rows):
        for v in r:
            if v != "?":
                float(v)  # anything else would need pandas' own NaN rules
        if len(r) != 14:
            raise SystemExit(f"{path}: data line {i} has {len(r)} fields, expected 14")
    kept = [i for i, r in enumerate(rows) if all(v != "?" for c, v in enumerate(r) if c not in DROPPED)]
    labels = np.array([0 if float(rows[i][13]) == 0 else 1 for i in kept])
    levels = np.unique(labels)
    stratify = labels if len(levels) > 1 and all((labels == lev).sum() > 2 for lev in levels) else None
    _, test = train_test_split(np.arange(len(kept)), test_size=1.0 - TRAIN_FRACTION, train_size=TRAIN_FRACTION,
                               random_state=43, shuffle=True, stratify=stratify)
    return {"kept": kept, "test": sorted(int(kept[j]) for j in test), "stratified": stratify is not None}


def main(heart_dir):
    out = {
        "source": "owkin/FLamby flamby/datasets/fed_heart_disease/dataset.py: train_test_split, random_state 43",
        "generatedWith": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
        "centres": {name: split_centre(os.path.join(heart_dir, file)) for name, file in CENTRES},
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/heart-disease")
