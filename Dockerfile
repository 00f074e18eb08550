# One image for every Node.js component: routers, agents/tools/workers, the gateway and the
# Next.js console. docker-compose.yml picks the process with `command:`.
#   deps:    npm ci (all dependencies, for the builds)
#   build:   next build and the servers compiled to dist/ (scripts/build.mjs), then drop dev
#            dependencies
#   runtime: slim Node.js, non-root user, only what the processes need: dist/, the console build,
#            production dependencies; every server runs `node --enable-source-maps dist/…`

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
ENV NEXT_TELEMETRY_DISABLED=1
COPY . .
RUN npx next build \
 && node scripts/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
# /data holds worker tasks, the audit log and dial-in agent tokens (a named volume in Compose);
# created here so the volume starts out owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
COPY --from=build /app/package.json /app/package-lock.json /app/tsconfig.json /app/next.config.ts ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/.next ./.next
COPY --from=build /app/dist ./dist
COPY --from=build /app/deploy/docker-entrypoint.sh ./deploy/docker-entrypoint.sh
USER node
# Registers each instance under its container address unless told otherwise.
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["node", "--enable-source-maps", "dist/router/main.js"]
