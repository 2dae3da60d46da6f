#!/bin/sh
# SageMaker starts the container with the single argument `serve`; anything else runs as a command
# (handy for `docker run <image> node -e ...` when debugging an image).
set -e
if [ "$#" -eq 0 ] || [ "$1" = "serve" ]; then
  exec node /opt/program/server.js
fi
exec "$@"
