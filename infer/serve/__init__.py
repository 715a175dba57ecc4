"""`brushwork serve`: a web page and an HTTP API over the torch-free runtime (Starlette).

    command.py    the verb: flags from ServeConfig, start uvicorn
    config.py     ServeConfig: the server's settings and limits, and so its flags
    app.py        the routes: the page, /styles, /stylize, /jobs
    catalogue.py  the styles it offers (shipped ones, then --models) and their thumbnails
    uploads.py    a multipart form streamed to the work folder under a limit, then checked
    runner.py     the one thread where the model runs, with a bounded queue
    jobs.py       video jobs: progress, cancel, results that expire
    errors.py     ServeError: an HTTP status and a one-line message
    static/       the page
"""
