# Tern image: the broker (`tern server`) and the bridge (`tern bridge`) in one.
#   docker build -t tern .
#   docker run -p 4222:4222 -p 8222:8222 tern server -m 8222 -js -sd /data
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY bin ./bin
COPY mappings ./mappings
RUN mkdir -p /data && chown node:node /data
USER node
# 4222 clients, 6222 routes, 8222 monitoring + /metrics, 9464 bridge metrics
EXPOSE 4222 6222 8222 9464
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["server"]
