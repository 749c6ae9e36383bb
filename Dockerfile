# One image for the API and the worker; the command picks the role.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
# /data exists in the image and belongs to node, so a new named volume mounted
# there (evidence, the worker's alive file) starts writable by the image's user.
RUN chown -R node:node /app && mkdir -p /data && chown node:node /data
USER node
ENV DATA_DIR=/data
# Keep a worker pulling gigabytes small (see the README's production notes).
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_MMAP_THRESHOLD_=16384
EXPOSE 3000
CMD ["npm", "run", "api"]
