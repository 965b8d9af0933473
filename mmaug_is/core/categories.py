"""Categories (classes) of a COCO instance set, and the labels mmdet gives them.

Every cell keeps the ``category_id`` of its annotation. mmdet's ``CocoDataset`` labels
the categories named in ``metainfo['classes']`` ``0, 1, ...`` in the order the file
declares them (pycocotools' ``getCatIds`` keeps file order; it does not sort by id) and
drops the annotations of the other categories; ``category_labels`` applies the same rule,
so generated samples are labelled exactly as the real set they come from.
"""
from .io import AnnotationError, _load_json, load_coco_instances


def read_categories(ann_file):
    """The categories a COCO file declares.

    Args:
        ann_file: COCO json path.
    Returns a list of the file's category dicts (``id``, ``name``, ...) in file order.
    Raises ``AnnotationError`` naming the file for a missing list, an entry without an
    integer ``id`` and a string ``name``, or a repeated id or name.
    """
    categories = _load_json(ann_file).get('categories')
    if not isinstance(categories, list):
        raise AnnotationError(f'{ann_file}: no "categories" list; declare the class of the '
                              'cells, e.g. [{"id": 1, "name": "nucleus"}]')
    for cat in categories:
        if not (isinstance(cat, dict) and isinstance(cat.get('id'), int)
                and isinstance(cat.get('name'), str)):
            raise AnnotationError(f'{ann_file}: category {cat!r:.120} needs an integer "id" '
                                  'and a string "name"')
    for key in ('id', 'name'):
        values = [cat[key] for cat in categories]
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise AnnotationError(f'{ann_file}: category {key} {repeated[0]!r} is declared '
                                  'more than once')
    return categories


def check_categories(records, categories, ann_file):
    """Raise ``AnnotationError`` naming the first annotation (id, image, file) of
    ``records`` (``ImageRecord``s) whose ``category_id`` ``categories`` does not declare."""
    declared = {cat['id'] for cat in categories}
    for record in records:
        for ann_id, cat_id in zip(record.ann_ids, record.category_ids):
            if cat_id not in declared:
                raise AnnotationError(
                    f'{ann_file}: annotation id {ann_id} (image {record.file_name}) has '
                    f'category_id {cat_id}, which "categories" does not declare (declared '
                    f'ids: {sorted(declared)})')


def load_categorised(ann_file, img_dir):
    """``load_coco_instances(ann_file, img_dir)``, checked that every annotation's category
    is declared (``check_categories``)."""
    records = load_coco_instances(ann_file, img_dir)
    check_categories(records, read_categories(ann_file), ann_file)
    return records


def category_labels(categories, classes, owner):
    """mmdet ``CocoDataset``'s ``cat2label`` for a file declaring ``categories``.

    Args:
        categories: category dicts in file order. classes: ``metainfo['classes']``.
        owner: who asks (named in messages).
    Returns ``{category id: label}`` for the categories named in ``classes``, numbered in
    file order (categories not named: no label, their cells are not annotated).
    Raises ``ValueError`` when no category is named in ``classes``, or when ``classes``
    does not list the named ones first and in file order (mmdet's label would then not be
    the index of the class name in ``classes``).
    """
    named = [cat['name'] for cat in categories if cat['name'] in classes]
    declared = [cat['name'] for cat in categories]
    if not named:
        raise ValueError(f'{owner}: none of the metainfo classes {tuple(classes)} is a '
                         f'category of the source (categories: {declared})')
    if list(classes[:len(named)]) != named:
        raise ValueError(f'{owner}: metainfo classes {tuple(classes)} must start with the '
                         f'source categories they name, in the order the source declares '
                         f'them ({named}): mmdet labels categories in file order')
    return {cat['id']: named.index(cat['name']) for cat in categories if cat['name'] in named}


def pick_category(categories, name, owner):
    """The one category of a one-class generator (``owner``, for messages).

    Args:
        categories: the source's category dicts. name: a category name, or ``None``
            (allowed only when the source declares exactly one category).
    Returns that category dict. Raises ``ValueError`` otherwise.
    """
    names = [cat['name'] for cat in categories]
    if name is None:
        if len(categories) != 1:
            raise ValueError(f'{owner} generates cells of one class, but the source declares '
                             f'{len(categories)} categories {names}; choose the class of the '
                             'generated cells with category=<name>')
        return categories[0]
    if name not in names:
        raise ValueError(f'{owner}: category {name!r} is not a category of the source '
                         f'{names}')
    return categories[names.index(name)]
