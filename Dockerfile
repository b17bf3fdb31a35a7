# ser-ari image: built once (`docker compose build` or `docker build -t ser-ari .`), runs as a
# non-root user, reads its config from a mounted file. Nothing is compiled or downloaded at start.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# onnxruntime-node ships its CPU binaries in the package; never fetch CUDA libraries. Node 20's npm 10
# ignores package.json's allowScripts, so the image says it with onnxruntime-node's own variable.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SER_HTTP_HOST=0.0.0.0 \
    SER_HTTP_PORT=8090 \
    SER_HISTORY_PATH=/var/lib/ser-ari/ser-history.sqlite
# The call history (SQLite) lives in a volume the non-root user can write; the app folder stays read-only to it.
RUN mkdir -p /var/lib/ser-ari && chown node:node /var/lib/ser-ari
VOLUME /var/lib/ser-ari
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY models/*.onnx models/*.json ./models/
COPY config ./config
COPY dialplan/sounds ./dialplan/sounds
COPY src/console/page ./src/console/page
COPY docs/events.schema.json ./docs/
USER node
EXPOSE 8090
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["run", "--config", "/etc/ser-ari/ser-ari.yaml"]
