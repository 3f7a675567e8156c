"""python -m agora serve [--demo] [--host H] [--port P]: migrate, optionally load the demo, serve."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agora", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="upgrade the database and serve the app under gevent")
    serve_parser.add_argument("--demo", action="store_true", help="load the demo data if it is not loaded yet")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from agora import create_app
    from agora.server import serve

    app = create_app()
    with app.app_context():
        upgrade()
        if args.demo:
            from agora.services import demo

            demo.load(progress=print)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
