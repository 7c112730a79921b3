"""``python manage.py demo``: migrate, then run the gateway (run_telegraph) and the site together."""

import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from telegraphy.contrib.django_telegraphy import conf


class Command(BaseCommand):
    help = "Start the Telegraphy gateway and the demo site; open http://localhost:8000/ and /tracker/."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        call_command("migrate", interactive=False, verbosity=0)
        gateway = conf.load().gateway
        manage = settings.BASE_DIR / "manage.py"
        process = subprocess.Popen([sys.executable, str(manage), "run_telegraph"])
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the gateway too when terminated
        try:
            self._wait_healthy(process, f"http://{gateway.host}:{gateway.port}/health")
            self.stdout.write(f"gateway ready on {gateway.url}; the pages: http://{addrport}/ and "
                              f"http://{addrport}/tracker/; write with `python manage.py mymodel create NAME`")
            call_command("runserver", addrport, use_reloader=False)
        finally:
            process.terminate()
            process.wait(15)

    def _wait_healthy(self, process, url, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"run_telegraph exited with {process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"the gateway did not answer on {url} within {timeout:.0f}s")
