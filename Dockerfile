# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript, then a slim runtime on the current Node LTS
# with the CJK font the charts need, running as a non-root user.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production DATA_DIR=/app/data PORT=3000 XDG_CACHE_HOME=/app/data/cache
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
