# syntax=docker/dockerfile:1
#
# One image for every service; SERVICES picks what a container runs (see docker-compose.yml):
#   docker build -t moleculer-tokens .
#   docker run -e SERVICES=tokens -e TRANSPORTER=nats://nats:4222 -e TOKEN_SALT=… moleculer-tokens
#
# The project's `node` devDependency (Node 24 for npm scripts on a developer's machine) is neither
# installed nor needed here: the base image is Node 24 and every command below calls its `node`.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript to dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: none of our dependencies needs one, and the `node` devDependency's would
# download a second Node binary. A locked install: exactly the versions of package-lock.json.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json moleculer.config.ts index.ts ./
COPY bin ./bin
COPY types ./types
COPY lib ./lib
COPY mixins ./mixins
COPY services ./services
RUN ["node", "node_modules/typescript/bin/tsc", "--project", "tsconfig.build.json"]

# --- production dependencies only ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    SERVICEDIR=dist/services \
    DATA_DIR=/app/data \
    NO_COLOR=1 \
    UV_THREADPOOL_SIZE=8
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The embedded store (when MONGO_URI is not set) and the mail outbox live here; mount a volume.
RUN mkdir -p -m 0700 /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Exec form: the runner is PID 1's only child (`init: true` in compose), gets SIGTERM directly and
# stops gracefully (in-flight requests finish, NATS is closed) before exiting 0.
CMD ["node_modules/.bin/moleculer-runner", "--config", "dist/moleculer.config.js"]
