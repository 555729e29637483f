#!/bin/sh
# Tools the image tool's tests compare against (tests/config_cmds.rs):
# dkimpy signs and verifies with the DKIM records `unimail dns` prints.
set -e
python3 -c 'import dkim' 2>/dev/null || pip install dkimpy
