# syntax=docker/dockerfile:1
# ext-authz-adapter image: build with the full toolchain, run on a slim base as a non-root user.
#   docker build -t ext-authz-adapter .
#   docker run -v $PWD/deploy/adapter.yaml:/etc/ext-authz-adapter/config.yaml:ro -p 9001:9001 ext-authz-adapter

FROM node:20-bookworm AS build
# re2 is a native addon: its install script fetches a prebuilt binary and falls back to
# compiling with node-gyp, which needs python3, make and g++.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not reinstall them. `npm ci` would run the
# package's `prepare` (the build) before the sources are here, so scripts are skipped and
# re2's install script, the one that matters, is run on its own.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild re2
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# A 256 MB old-space limit, well inside the Kubernetes manifest's 512Mi, also has V8 grow its heap
# close to what is live instead of up to 4x: peak RSS under 128 concurrent checks ~140 MB instead
# of ~240 MB (docs/performance.md, "Memory"). Override with -e NODE_OPTIONS=...
ENV NODE_OPTIONS=--max-old-space-size=256
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# `ext-authz-adapter schema` prints it.
COPY config/config.schema.json ./config/
# The demo's example auth service and backend run from this same image (docker-compose.yml),
# so the demo needs nothing but Envoy's official image besides. Neither runs unless asked.
COPY scripts/example-auth-service.js ./scripts/
COPY deploy/demo-backend.js ./deploy/
# The base image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# 9001: gRPC (envoy.service.auth.v3.Authorization and grpc.health.v1.Health); 9002: admin HTTP.
EXPOSE 9001 9002
# /readyz answers 200 once the config has loaded and the gRPC port is bound, and 503 while
# draining. It assumes the default admin address (port 9002).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:9002/readyz', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
# Node handles SIGTERM itself (drain, then exit), so it can run as PID 1 without an init.
ENTRYPOINT ["node", "bin/ext-authz-adapter.js"]
CMD ["serve", "--config", "/etc/ext-authz-adapter/config.yaml"]
