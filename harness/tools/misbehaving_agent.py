"""A proxy agent that breaks one operation of a real agent: for the conformance canary that an
implementation added with --agent and misbehaving on one step fails that cell only.

    python3 harness/tools/misbehaving_agent.py OP AGENT [ARGS...]

Passes every request to AGENT and every response back, except that a successful integer answer
to OP comes back one too large. Standard library only.
"""

import json
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    op = sys.argv[1]
    agent = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for line in sys.stdin:
        if not line.strip():
            continue
        agent.stdin.write(line.encode())
        agent.stdin.flush()
        request = json.loads(line)
        if request.get("op") == "kill":
            break
        answer = agent.stdout.readline()
        if not answer:
            break
        response = json.loads(answer)
        if request.get("op") == op and response.get("ok") and isinstance(response.get("value"), int):
            response["value"] += 1
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()
        if request.get("op") == "exit":
            break
    agent.stdin.close()
    return agent.wait()


if __name__ == "__main__":
    sys.exit(main())
