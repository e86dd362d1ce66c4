"""Reports: figures and one self-contained HTML file per run or sweep."""
