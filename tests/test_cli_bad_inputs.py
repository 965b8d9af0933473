"""Bad command-line values stop the tools before any work, naming the option and the value
(issue 35): argparse types of ``mmaug_is.utils.cli`` and the tools that use them."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmaug_is.utils.cli import at_least, fraction, int_list

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = ['--ann-file', 'data/sample_fluo/annotations/train.json',
        '--img-dir', 'data/sample_fluo/images']


@pytest.mark.parametrize('parse, text, message', [
    (at_least(8), '0', "must be an integer >= 8, got '0'"),
    (at_least(1), 'x', "must be an integer >= 1, got 'x'"),
    (at_least(0.0, float), 'nan', "must be a number >= 0.0, got 'nan'"),
    (fraction, '1.5', "must be a number in (0, 1], got '1.5'"),
    (int_list(1), '8,x', "must be comma-separated integers >= 1, got '8,x'"),
    (int_list(1), '', "must be comma-separated integers >= 1, got ''"),
    (int_list(0), '1,-2', "got '1,-2'"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_value_types(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace('(', r'\(')
                       .replace(')', r'\)').replace('[', r'\[')):
        parse(text)


def test_value_types_accept_good_values():
    assert at_least(8)('64') == 64 and at_least(0.0, float)('2.5') == 2.5
    assert fraction('1') == 1.0 and int_list(1)('16, 32,64') == (16, 32, 64)
    assert int_list(0, allow_empty=True)('') == ()


@pytest.mark.slow
@pytest.mark.parametrize('argv, message', [
    (['tools/saaa_train_masks.py', *DATA, '--work-dir', 'w', '--size', '0'],
     "argument --size: must be an integer >= 8, got '0'"),
    (['tools/saaa_train_masks.py', *DATA, '--work-dir', 'w', '--channels', '8,x'],
     "argument --channels: must be comma-separated integers >= 1, got '8,x'"),
    (['tools/saaa_train_masks.py', *DATA, '--work-dir', 'w', '--channels', ''],
     "argument --channels: must be comma-separated integers >= 1, got ''"),
    (['tools/saaa_train_masks.py', *DATA, '--work-dir', 'w', '--attention-levels', '5'],
     'argument --attention-levels: levels must be in 0..3'),
    (['tools/saaa_train_pix2pix.py', *DATA, '--work-dir', 'w', '--size', '0'],
     "argument --size: must be an integer >= 8, got '0'"),
    (['tools/iaaa_search.py', *DATA, '--work-dir', 'w', '--top-b', '0'],
     "argument --top-b: must be an integer >= 1, got '0'"),
    (['tools/generate.py', '--method', 'iaaa', *DATA, '--num', '0', '--out', 'o'],
     "argument --num: must be an integer >= 1, got '0'"),
], ids=['bad_input_masks_size_0', 'bad_input_masks_channels_not_int',
        'bad_input_masks_channels_empty', 'bad_input_masks_attention_level',
        'bad_input_pix2pix_size_0', 'bad_input_search_top_b_0', 'bad_input_generate_num_0'])
def test_bad_input_tool_options_stop_before_any_work(argv, message, tmp_path):
    result = subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and 'Traceback' not in result.stderr
    assert not (REPO_ROOT / 'w').exists()


@pytest.mark.slow
def test_bad_input_generate_out_is_a_file(tmp_path):
    out = tmp_path / 'a_file'
    out.write_text('')
    result = subprocess.run(
        [sys.executable, 'tools/generate.py', '--method', 'iaaa', *DATA, '--num', '1',
         '--out', str(out), '--cache-root', str(tmp_path / 'cache')],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, MMAUG_OFFLINE='1'))
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert f'--out: cannot write {out}: Not a directory' in result.stderr
