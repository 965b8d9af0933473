"""Installs mmaug_is, an MMDetection 3.x plugin for IAAA/SAAA synthetic microscopy data."""
from pathlib import Path

from setuptools import find_packages, setup


def read_requirements(name):
    """Return the requirement lines of requirements/<name>.txt."""
    path = Path(__file__).parent / 'requirements' / f'{name}.txt'
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith('#')]


setup(
    name='mmaug_is',
    version='0.1.0',
    description='IAAA and SAAA synthetic instance-segmentation data for MMDetection',
    long_description=(Path(__file__).parent / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmaug_is', 'mmaug_is.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require={'test': read_requirements('test')},
    license='Apache-2.0',
)
