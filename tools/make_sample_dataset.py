"""Cut a small, self-contained COCO subset of a real dataset (the bundled demo data).

Usage:
    python tools/make_sample_dataset.py ../shared/data/dsb2018_fluo data/sample_fluo \
        --per-split train=16 val=4 test=4

Images are picked evenly over each split sorted by file name (deterministic), copied
unchanged, and their annotations rewritten with new consecutive ids.
"""
import argparse
import json
import shutil
from pathlib import Path

from mmaug_is.core.io import write_json


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', type=Path, help='dataset root with annotations/ and images/')
    parser.add_argument('dst', type=Path, help='output dataset root (created)')
    parser.add_argument('--per-split', nargs='+', default=['train=16', 'val=4', 'test=4'],
                        help='split=count pairs')
    return parser.parse_args()


def pick_evenly(items, count):
    """Return `count` items spread evenly over `items` (all of them if fewer)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def subset_split(coco, count):
    """Return a COCO dict holding `count` images of `coco` and their annotations."""
    images = pick_evenly(sorted(coco['images'], key=lambda im: im['file_name']), count)
    old_to_new = {im['id']: new_id for new_id, im in enumerate(images, start=1)}
    annotations = [a for a in coco['annotations'] if a['image_id'] in old_to_new]
    new_images = [dict(im, id=old_to_new[im['id']]) for im in images]
    new_anns = [dict(a, id=i, image_id=old_to_new[a['image_id']])
                for i, a in enumerate(annotations, start=1)]
    return dict(coco, images=new_images, annotations=new_anns)


def main():
    args = parse_args()
    (args.dst / 'annotations').mkdir(parents=True, exist_ok=True)
    (args.dst / 'images').mkdir(parents=True, exist_ok=True)
    for item in args.per_split:
        split, count = item.split('=')
        coco = json.loads((args.src / 'annotations' / f'{split}.json').read_text())
        sub = subset_split(coco, int(count))
        for im in sub['images']:
            shutil.copy2(args.src / 'images' / im['file_name'],
                         args.dst / 'images' / im['file_name'])
        write_json(args.dst / 'annotations' / f'{split}.json', sub, indent=None)
        print(f'{split}: {len(sub["images"])} images, {len(sub["annotations"])} instances')


if __name__ == '__main__':
    main()
