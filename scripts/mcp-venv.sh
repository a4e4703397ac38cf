#!/usr/bin/env bash
# The venv examples/.venv with the official MCP Python SDK: the real client the `workbench mcp`
# tests drive the server with (Tests/CLITests/MCP/check_tools.py) and that runs
# examples/agent_audit.py. Idempotent: skipped when the pinned version is installed.
#
#   scripts/mcp-venv.sh        (run by `make test` and `make mcp-venv`)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/examples/.venv"
MCP_VERSION="${MCP_VERSION:-2.3.0}"
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_VERSION')" 2>/dev/null; then
    echo "==> examples/.venv: mcp $MCP_VERSION installed"
    exit 0
fi
command -v python3 >/dev/null || { echo "mcp-venv: python3 not found (apt-get install python3-venv)" >&2; exit 1; }
echo "==> creating examples/.venv with mcp $MCP_VERSION (the MCP Python SDK)"
python3 -m venv "$VENV" || { echo "mcp-venv: could not create the venv (apt-get install python3-venv)" >&2; exit 1; }
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "mcp==$MCP_VERSION" || { echo "mcp-venv: pip install mcp==$MCP_VERSION failed" >&2; exit 1; }
"$VENV/bin/python" -c "from mcp.client.stdio import stdio_client" || { echo "mcp-venv: the SDK does not import" >&2; exit 1; }
