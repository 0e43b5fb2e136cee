#!/bin/sh
# Step 8: publish a directory to the repo as a new version of a codebase, with curl and nothing else.
#
#   tutorial/08-repo/publish.sh DIR [NAME]        NAME defaults to hello
#
# REPO is the repo's address (default http://localhost:6060); PIPYX_REPO_TOKEN is its token. Every file under DIR is
# uploaded (its path in DIR is its path in the codebase), main.py becomes the entry, and the draft is published.
# Files you delete from DIR stay in the codebase; remove them with curl -X DELETE .../files/PATH.
set -eu

dir=${1:?usage: publish.sh DIR [NAME]}
name=${2:-hello}
REPO=${REPO:-http://localhost:6060}
: "${PIPYX_REPO_TOKEN:?set PIPYX_REPO_TOKEN to the repo\'s token}"
AUTH="Authorization: Bearer $PIPYX_REPO_TOKEN"

# Create the codebase. 409 means it is there already, which is fine.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -d "{\"name\": \"$name\"}" "$REPO/api/v1/codebases")
case $status in
    201|409) ;;
    *) echo "publish.sh: cannot create codebase $name at $REPO (HTTP $status)" >&2; exit 1 ;;
esac

# Upload every file, skipping Python's caches and hidden files.
cd "$dir"
find . -type f ! -path '*/__pycache__/*' ! -name '.*' | sed 's|^\./||' | while read -r path; do
    curl -sS --fail-with-body -H "$AUTH" -T "$path" "$REPO/api/v1/codebases/$name/files/$path"
    echo "uploaded $path"
done

# The script workers run, then the new version: prints {"version":N}.
curl -sS --fail-with-body -o /dev/null -H "$AUTH" -X PUT -d '{"path": "main.py"}' "$REPO/api/v1/codebases/$name/entry"
curl -sS --fail-with-body -H "$AUTH" -X POST "$REPO/api/v1/codebases/$name/publish"
