"""The one checkpoint writer / checker: atomic saves, files named in every load error."""
import pytest
import torch

from mmaug_is.utils.checkpoint_io import load_checkpoint, save_checkpoint


def test_round_trip_and_kind_check(tmp_path):
    path = save_checkpoint({'kind': 'demo', 'w': torch.arange(3)}, tmp_path / 'sub' / 'a.pth')
    state = load_checkpoint(path, 'demo')
    assert torch.equal(state['w'], torch.arange(3))
    assert [p.name for p in path.parent.iterdir()] == ['a.pth']  # no temporary left
    with pytest.raises(ValueError, match=r"a.pth is not a 'other' checkpoint \(its kind is 'demo'"):
        load_checkpoint(path, 'other')
    with pytest.raises(ValueError, match=r"a.pth is not a 'demo' checkpoint \(its format is None"):
        load_checkpoint(path, 'demo', field='format')
    save_checkpoint([1, 2], tmp_path / 'list.pth')
    with pytest.raises(ValueError, match="list.pth is not a 'demo' checkpoint"):
        load_checkpoint(tmp_path / 'list.pth', 'demo')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint(tmp_path / 'missing.pth', 'demo')


@pytest.mark.parametrize('content', [b'', b'garbage, not a checkpoint', b'PK\x03\x04broken zip'])
def test_garbage_files_are_named(tmp_path, content):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.pth is not a readable 'demo' checkpoint"):
        load_checkpoint(path, 'demo')


def test_truncated_and_unsafe_files_are_named(tmp_path):
    good = save_checkpoint({'kind': 'demo', 'w': torch.zeros(1000)}, tmp_path / 'good.pth')
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:500])
    with pytest.raises(ValueError, match='cut.pth is not a readable'):
        load_checkpoint(cut, 'demo')
    torch.save({'kind': 'demo', 'obj': Exception('pickled object')}, tmp_path / 'unsafe.pth')
    with pytest.raises(ValueError, match='unsafe.pth is not a readable'):
        load_checkpoint(tmp_path / 'unsafe.pth', 'demo')


def test_a_failed_save_keeps_the_old_checkpoint(tmp_path):
    path = save_checkpoint({'kind': 'demo', 'step': 1}, tmp_path / 'c.pth')

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError('cannot pickle')

    with pytest.raises(RuntimeError, match='cannot pickle'):
        save_checkpoint({'kind': 'demo', 'step': 2, 'bad': Unpicklable()}, path)
    assert load_checkpoint(path, 'demo')['step'] == 1
    assert [p.name for p in tmp_path.iterdir()] == ['c.pth']
