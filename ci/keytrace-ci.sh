#!/usr/bin/env sh
# Plain shell recipe for any CI: scan the commits between two revisions.
#   BEFORE=<sha before the push, or all zeros for a new branch>
#   AFTER=<sha after the push>          (default: HEAD)
# Exit 0: nothing new; 1: new findings; 2: the scan could not run.
set -eu
: "${BEFORE:?set BEFORE to the commit before the push}"
exec keytrace scan --since "$BEFORE" --until "${AFTER:-HEAD}" --no-progress "$@" .
