"""The app server loads the scrubber when it starts, before anybody opens a page (issue 14
item 12: the first dashboard view waited for deduce when it loaded inside that request)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from workbench.config import PROJECT_ROOT

PROBE = textwrap.dedent("""
    import asyncio, time
    from workbench.domain.privacy import get_scrubber
    from workbench.ui import asgi

    async def main():
        before = get_scrubber().loaded
        async with asgi._lifespan(None):
            deadline = time.monotonic() + 180
            while not get_scrubber().loaded and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        print(before, get_scrubber().loaded)

    asyncio.run(main())
""")


def test_the_server_loads_the_scrubber_at_start_not_at_the_first_page() -> None:
    # A fresh process: in this one another test may have loaded deduce already.
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"], done.stdout
