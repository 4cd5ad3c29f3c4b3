#!/usr/bin/env python3
"""Furnishes a data directory (or the database of TROUPE_DATABASE_URL) for
bench_api: starts `troupe serve` once (it migrates and creates the admin),
makes an API key, a model on the fast fake, three agents and the peers'
workflow (three sequential tasks, each taking the one before as context),
stops the server and prints "KEY WORKFLOW_ID".
usage: setup.py TROUPE DATA_DIR FAKE_BASE_URL"""
import json, os, socket, subprocess, sys, time, urllib.request

binp, data, fake = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
base = f"http://127.0.0.1:{port}"
env = dict(os.environ, TROUPE_ADMIN_EMAIL="bench@example.test", TROUPE_ADMIN_PASSWORD="bench-admin-password-1")
p = subprocess.Popen([binp, "serve", "--listen", f"127.0.0.1:{port}", "--data", data],
                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


try:
    for _ in range(400):
        try:
            call("GET", "/readyz")
            break
        except Exception:
            time.sleep(0.05)
    tok = call("POST", "/api/v1/auth/login", {"email": "bench@example.test", "password": "bench-admin-password-1"})["access_token"]
    key = call("POST", "/api/v1/api-keys", {"name": "bench", "role": "admin"}, tok)["key"]
    model = call("POST", "/api/v1/models", {"name": "fast fake", "provider": "openai_compatible", "model": "gpt-4o-mini",
                                            "base_url": fake, "api_key": "sk-bench", "default": True}, key)["id"]
    agents = [call("POST", "/api/v1/agents", {"name": r, "role": f"{r} of {{topic}}", "goal": "Do the part of the job that falls to you about {topic}",
                                              "backstory": "A careful professional.", "model_id": model}, key)["id"]
              for r in ("Researcher", "Writer", "Editor")]
    tasks = [("research", "Research {topic}.", "Ten bullet points."),
             ("write", "Write an article from the research.", "An article."),
             ("edit", "Edit the article.", "The edited article.")]
    wf = call("POST", "/api/v1/workflows", {"name": "peers' workload", "inputs": [{"name": "topic"}],
                                            "tasks": [dict(key=k, description=d, expected_output=o, agent_id=agents[i],
                                                           **({"context": [tasks[i - 1][0]]} if i else {}))
                                                      for i, (k, d, o) in enumerate(tasks)]}, key)["id"]
    print(key, wf)
finally:
    p.terminate()
    p.wait()
