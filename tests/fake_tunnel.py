"""Stands in for a tunnel in tests: a real local process that announces a URL and stays up until killed."""
import sys
import time

port = sys.argv[1]
print("starting tunnel...", flush=True)
print(f"your url is: http://localhost:{port}/?via=fake-tunnel", flush=True)
while True:
    time.sleep(1)
