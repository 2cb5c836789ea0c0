"""The app as an HTTP server: Streamlit's own routes (pages, websocket) plus the one route that
sets the staff session cookie (`session_cookie.py`). Start it with

    python -m workbench.ui.asgi --server.address 127.0.0.1 --server.port 8501

(`workbench start` does), or `streamlit run workbench/ui/asgi.py` with FORWARDED_ALLOW_IPS=""
in the environment. Either way the pages are `streamlit_app.py`; run that file directly and
everything works except that a refresh signs staff out.

Why FORWARDED_ALLOW_IPS="": Streamlit serves through uvicorn, which by default rewrites the
client address from X-Forwarded-For for connections from 127.0.0.1, so anything on the server
could pose as any address. The workbench decides itself whom to believe
(WORKBENCH_TRUSTED_PROXIES, default nobody), and uvicorn reads that variable before it loads
this module, hence the launcher below.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.routing import Route
from streamlit.starlette import App

from workbench.ui.session_cookie import PATH, session_endpoint

ENTRY = Path(__file__).with_name("streamlit_app.py")


@asynccontextmanager
async def _lifespan(_app: Any) -> AsyncIterator[None]:
    if os.environ.get("FORWARDED_ALLOW_IPS") != "":
        logging.getLogger("workbench").warning(
            "FORWARDED_ALLOW_IPS is not empty: uvicorn may rewrite client addresses from "
            "X-Forwarded-For before the workbench sees them; start with "
            "`python -m workbench.ui.asgi` (see workbench/ui/asgi.py)")
    _load_scrubber_in_background()
    yield


def _load_scrubber_in_background() -> threading.Thread:
    """Deduce takes seconds to load. Start that when the server starts, not when the first
    person opens a page: the page's own warm-up (streamlit_app._warm_up) then finds it loaded,
    or waits on the same lock, instead of loading it beside that person's first view."""
    from workbench.domain.privacy import get_scrubber

    thread = threading.Thread(target=get_scrubber().load, name="scrubber-load", daemon=True)
    thread.start()
    return thread


app = App(str(ENTRY), routes=[Route(PATH, session_endpoint, methods=["POST", "DELETE"])],
          lifespan=_lifespan)


def main(argv: list[str] | None = None) -> None:
    """`python -m workbench.ui.asgi [streamlit run options]`."""
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", __file__, *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
