#!/usr/bin/env python3
"""`grokkit report` of a small run, rendered in headless Chromium through the DevTools
protocol: no console errors, every section has its chart drawn, and the screenshot is not
blank (at least 5% of its pixels differ from the background); the screenshot is kept as a test
artefact. A report of a live run says how far it has got.
usage: report.py GROKKIT_BINARY PIPELINE ARTEFACT_DIR"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import h5py
import numpy as np
import websocket  # Debian's python3-websocket
from matplotlib import image


class page:
    """One Chromium tab driven over its DevTools websocket; console errors are collected."""

    def __init__(self, chromium, profile):
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--hide-scrollbars",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1000,1000",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: close() ends every helper
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 60  # bounds a hang only
        words = []
        # Event: the file holds the port (Chromium creates it before it writes it).
        while not words and time.time() < deadline:
            if os.path.exists(port_file):
                words = open(port_file).read().split()
            if not words:
                time.sleep(0.05)
        assert words, f"Chromium wrote no DevTools port into {port_file}"
        port = words[0]
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        url = next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
        self.ws = websocket.create_connection(url, timeout=60)
        self.next_id, self.errors, self.events = 0, [], []
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                return msg.get("result", {})
            self.note(msg)

    def note(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append(d.get("exception", {}).get("description") or d.get("text", "?"))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.errors.append(p["entry"]["text"])
        elif m:
            self.events.append(m)

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")

    def close(self):
        self.ws.close()
        # Chromium's helper processes outlive a kill of the browser alone and keep writing into
        # the profile being deleted: end the whole group, then wait for the browser.
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def check_rendered(chromium, html, artefacts, shot_name, every_section_charted=True,
                   min_ink=0.05):
    def complete(drawn):
        # Every chart drawn; with every_section_charted, every section has one.
        return drawn and all((n > 0 or not every_section_charted) and c == n
                             for _, n, c in drawn)

    # A helper still exiting may leave a file behind in the profile: not the test's concern.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        p = page(chromium, profile)
        try:
            p.call("Page.navigate", url="file://" + html)
            # Wait for the charts to be drawn: an event, not a fixed sleep (bounded against hangs).
            deadline, drawn = time.time() + 120, None
            while time.time() < deadline:
                drawn = p.evaluate("[...document.querySelectorAll('section')].map(s => "
                                   "[s.querySelector('h2').textContent, "
                                   "s.querySelectorAll('.chart').length, "
                                   "s.querySelectorAll('.chart canvas').length])")
                if p.errors or complete(drawn):
                    break
                time.sleep(0.05)
            assert not p.errors, p.errors
            assert complete(drawn), drawn
            height = p.evaluate("document.documentElement.scrollHeight")
            p.call("Emulation.setDeviceMetricsOverride", width=1000, height=height,
                   deviceScaleFactor=1, mobile=False)
            shot = base64.b64decode(p.call("Page.captureScreenshot", format="png")["data"])
            errors = list(p.errors)
        finally:
            p.close()
    os.makedirs(artefacts, exist_ok=True)
    png = os.path.join(artefacts, shot_name)
    with open(png, "wb") as f:
        f.write(shot)
    pixels = image.imread(png)[..., :3].reshape(-1, 3)
    values, counts = np.unique((pixels * 255).round().astype(np.uint8), axis=0,
                               return_counts=True)
    non_background = 1 - counts.max() / len(pixels)
    assert not errors, errors
    assert non_background >= min_ink, non_background
    print(f"rendered: {len(drawn)} sections, {sum(n for _, n, _ in drawn)} charts drawn, "
          f"no console errors, {non_background:.0%} of pixels not background; screenshot {png}")


def live_report(grokkit, pipeline, tmp):
    out = os.path.join(tmp, "live.h5")
    proc = subprocess.Popen([grokkit, "run", pipeline, "--out", out, "--set",
                             "train.steps=1000000", "--progress-interval", "0"],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:  # events: progress lines; past the second checkpoint
        if line.startswith("step ") and int(line.split()[1].split("/")[0]) >= 120:
            break
    html = os.path.join(tmp, "live.html")
    # Several reports while rows keep coming: each reads rows committed after it opened their
    # datasets (a stale extent made half of them fail with "cannot read row" before H5Drefresh).
    for _ in range(8):
        subprocess.run([grokkit, "report", out, "-o", html], check=True,
                       stdout=subprocess.DEVNULL)
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()
    assert proc.wait() == 130
    text = open(html).read()
    assert "Status: running (being written now" in text and " of 1000000." in text
    print("live run: the report says how far it has got")


def killed_mid_write_report(grokkit, pipeline, tmp):
    """A run SIGKILLed while it writes its second checkpoint (held there by the test hook): the
    report is complete over the committed rows and says the run stopped before the end."""
    out = os.path.join(tmp, "killed.h5")
    env = dict(os.environ, GROKKIT_TEST_HOLD="checkpoint_data:2")
    env.pop("GROKKIT_TEST_RELEASE", None)
    proc = subprocess.Popen([grokkit, "run", pipeline, "--out", out, "--quiet"],
                            stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stderr:  # the event: the hook's line
        if "test hook holding at checkpoint_data 2" in line:
            break
    proc.kill()
    proc.wait()
    proc.stderr.close()
    html = os.path.join(tmp, "killed.html")
    p = subprocess.run([grokkit, "report", out, "-o", html], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = open(html).read()
    assert "Status: stopped before the end (killed or crashed" in text, "status"
    with h5py.File(out, "r", libver="latest", swmr=True) as f:  # a killed SWMR file
        n = len(f["checkpoints/step"])
    assert n == 1, n  # the checkpoint being written when it was killed is not committed
    print(f"killed mid-checkpoint: the report covers the {n} committed checkpoint and says so")


def sweep_report(grokkit, pipeline, tmp, chromium, artefacts):
    """The sweep's page: a phase diagram over the grid, grokking steps across seeds, and a
    link to each point's own report, which `grokkit report DIR` writes too."""
    sweep = os.path.join(tmp, "sweep")
    subprocess.run([grokkit, "sweep", pipeline, "--grid", "train.weight_decay=0.0,1.0",
                    "--grid", "dataset.train_fraction=0.5,0.7", "--seeds", "0..1", "--set",
                    "train.steps=400", "--out", sweep, "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([grokkit, "report", sweep], check=True, stdout=subprocess.DEVNULL)
    html = os.path.join(sweep, "report.html")
    text = open(html).read()
    for t in ["Phase diagram", "Grokking steps across seeds", "train.weight_decay",
              "dataset.train_fraction"]:
        assert t in text, t
    links = sorted(set(re.findall(r'href="(points/[0-9a-f]{16}/report\.html)"', text)))
    assert len(links) == 8, links
    for link in links:
        assert os.path.exists(os.path.join(sweep, link)), link
    # The Points section is a table: not every section has a chart.
    check_rendered(chromium, html, artefacts, "report-sweep.png", every_section_charted=False,
                   min_ink=0.03)
    print("sweep: the page links the 8 points' reports, each written")


def main(grokkit, pipeline, artefacts):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "r.h5")
        subprocess.run([grokkit, "run", pipeline, "--out", run, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        html = os.path.join(tmp, "report.html")
        subprocess.run([grokkit, "report", run, "-o", html], check=True)
        check_rendered(chromium, html, artefacts, "report.png")
        # Parity: the probe's Walsh section instead of the Fourier one.
        parity = os.path.join(tmp, "parity.h5")
        parity_toml = os.path.join(os.path.dirname(os.path.abspath(pipeline)), "..", "..",
                                   "examples", "pair-parity.toml")
        subprocess.run([grokkit, "run", parity_toml, "--out", parity, "--quiet", "--set",
                        "train.steps=300", "--set", "train.checkpoint_every=100"], check=True,
                       stdout=subprocess.DEVNULL)
        parity_html = os.path.join(tmp, "parity.html")
        subprocess.run([grokkit, "report", parity, "-o", parity_html], check=True)
        assert "Walsh spectrum" in open(parity_html).read()
        check_rendered(chromium, parity_html, artefacts, "report-parity.png")
        # Each analysis' own section, from its example pipeline: the texts it must show.
        sections = [
            ("hull", os.path.join("hull_test", "example.toml"),
             ["Share of queries inside the hull against dimension",
              "Accuracy inside and outside the hull"]),
            ("influence", os.path.join("influence", "example.toml"),
             ["top proponents: train index (score)", "Self-influence of the training examples"]),
            ("low_temperature", os.path.join("low_temperature", "example.toml"),
             ["Reward against temperature at step", "Transcends: the best mean reward",
              "model reward [95% interval]", "empirical mixture"]),
        ]
        for name, example, texts in sections:
            run_file = os.path.join(tmp, name + ".h5")
            toml = os.path.join(os.path.dirname(os.path.abspath(pipeline)), "..", "..",
                                "analyses", example)
            subprocess.run([grokkit, "run", toml, "--out", run_file, "--quiet"], check=True,
                           stdout=subprocess.DEVNULL)
            page_html = os.path.join(tmp, name + ".html")
            subprocess.run([grokkit, "report", run_file, "-o", page_html], check=True)
            text = open(page_html).read()
            for t in texts:
                assert t in text, (name, t)
            check_rendered(chromium, page_html, artefacts, f"report-{name}.png")
        live_report(grokkit, pipeline, tmp)
        killed_mid_write_report(grokkit, pipeline, tmp)
        sweep_report(grokkit, pipeline, tmp, chromium, artefacts)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
