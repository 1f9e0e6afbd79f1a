"""Python side of the fake LLM server (tests/fakellm/fakellm.c) for the
integration tests: start it on an ephemeral port with a scripted
configuration, read its statistics, reset or reconfigure it, stop it.

The server binary comes from the FAKELLM environment variable (meson
test sets it).
"""
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request


class Fake:
    """The fake OpenAI-compatible server, on an ephemeral port."""

    def __init__(self, config, prefix="assay-fake-"):
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix=prefix)
        path = os.path.join(self.dir, "fake.json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.proc = subprocess.Popen([os.environ["FAKELLM"], "--port", "0",
                                      "--config", path],
                                     stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("fake server did not start: %r" % line)
        self.port = int(line)
        self.url = "http://127.0.0.1:%d/v1" % self.port

    def _req(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path), data=data,
            method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read().decode() or "null")

    def stats(self):
        return self._req("/stats")

    def reset(self):
        self._req("/reset", {})

    def configure(self, config):
        self._req("/config", config)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
