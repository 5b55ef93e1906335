"""The fast fake upstream: nginx serving recorded OpenAI and Anthropic answers to POSTs.

Bodies are built from ``tests/fixtures/`` into ``bench/.work/upstream/``:

* ``/json/v1/chat/completions``   openai/chat_text.json
* ``/sse/v1/chat/completions``    openai/stream_text_with_usage.sse, stretched to 40 SSE frames
* ``/json/v1/messages``           anthropic/message_text.json
* ``/sse/v1/messages``            anthropic/stream_text.sse, stretched to 40 SSE frames

so a provider's ``base_url`` picks JSON or SSE (``.../json/v1`` or ``.../sse/v1`` for OpenAI,
``.../json`` or ``.../sse`` for Anthropic). nginx's static module refuses POST with 405;
``error_page 405 =200 $uri`` turns that into an internal GET of the same file, answered 200.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.procs import Procs, wait_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
STREAM_FRAMES = 40  # SSE frames per streamed answer, [DONE] and ping included


def _frames(name: str) -> list[bytes]:
    data = (FIXTURES / name).read_bytes()
    return [chunk + b"\n\n" for chunk in data.split(b"\n\n") if chunk.strip()]


def _stretch(frames: list[bytes], is_delta: bytes, total: int) -> list[bytes]:
    """Repeat the content-delta frames (in order, cycling) until there are ``total`` frames."""
    deltas = [f for f in frames if is_delta in f]
    first = frames.index(deltas[0])
    head, tail = frames[:first], frames[first + len(deltas) :]
    count = total - len(head) - len(tail)
    return head + [deltas[i % len(deltas)] for i in range(count)] + tail


def openai_stream_frames(total: int = STREAM_FRAMES) -> list[bytes]:
    return _stretch(_frames("openai/stream_text_with_usage.sse"), b'"delta":{"content"', total)


def anthropic_stream_frames(total: int = STREAM_FRAMES) -> list[bytes]:
    return _stretch(_frames("anthropic/stream_text.sse"), b"event: content_block_delta", total)


def write_bodies(work: Path) -> Path:
    """The docroot nginx serves; returns it."""
    root = work / "upstream"
    bodies = {
        "json/v1/chat/completions": (FIXTURES / "openai/chat_text.json").read_bytes(),
        "sse/v1/chat/completions": b"".join(openai_stream_frames()),
        "json/v1/messages": (FIXTURES / "anthropic/message_text.json").read_bytes(),
        "sse/v1/messages": b"".join(anthropic_stream_frames()),
    }
    for rel, body in bodies.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    client_body_buffer_size 64k;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    etag off;
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        root {docroot};
        location /json/ {{ default_type application/json; error_page 405 =200 $uri; }}
        location /sse/ {{
            default_type "text/event-stream; charset=utf-8";
            add_header cache-control no-cache;
            error_page 405 =200 $uri;
        }}
    }}
}}
"""


def ensure_debian_tools() -> None:
    """nginx and wrk from Debian, installed when missing (needs root, as on this machine)."""
    missing = [pkg for pkg, exe in (("nginx-light", "nginx"), ("wrk", "wrk")) if not _which(exe)]
    if not missing:
        return
    print(f"bench: installing {' '.join(missing)} with apt-get", flush=True)
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, timeout=300)


def _which(exe: str) -> str | None:
    return shutil.which(exe) or shutil.which(exe, path="/usr/sbin:/usr/bin")


def start_nginx(procs: Procs, work: Path, port: int, core: int) -> subprocess.Popen[bytes]:
    docroot = write_bodies(work)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=port, docroot=docroot))
    nginx = _which("nginx") or "nginx"
    proc = procs.start(
        "nginx",
        [nginx, "-p", str(work), "-e", str(work / "nginx-error.log"), "-c", str(conf)],
        core=core,
        log=work / "nginx.out",
    )
    wait_port(port, proc)
    return proc
