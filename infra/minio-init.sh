#!/bin/sh
# One-shot MinIO set-up for docker-compose.yml (runs in the minio/mc image; idempotent, safe to re-run):
#   1. the bucket,
#   2. a MinIO user for the pipeline, limited to that bucket (so no newsroom container holds the root key),
#   3. the bucket notification: objects put under the inbox prefix go to the webhook target that the
#      minio service defines with MINIO_NOTIFY_WEBHOOK_*_NEWSROOM.
# Environment: MINIO_URL MINIO_ROOT_USER MINIO_ROOT_PASSWORD BUCKET INBOX_PREFIX NOTIFY_ARN
#              NEWSROOM_MINIO_ACCESS_KEY NEWSROOM_MINIO_SECRET_KEY
set -eu

: "${MINIO_URL:?}" "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${BUCKET:?}" "${INBOX_PREFIX:?}"
: "${NOTIFY_ARN:?}" "${NEWSROOM_MINIO_ACCESS_KEY:?}" "${NEWSROOM_MINIO_SECRET_KEY:?}"

log() { printf '[minio-init] %s\n' "$*"; }

mc alias set local "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null

log "bucket $BUCKET"
mc mb --ignore-existing "local/$BUCKET"

log "policy newsroom-rw: read/write on $BUCKET only"
policy=/tmp/newsroom-rw.json
# Shell built-ins only (the mc image is minimal).
printf '%s\n' \
  '{"Version": "2012-10-17", "Statement": [' \
  "  {\"Effect\": \"Allow\", \"Action\": [\"s3:GetBucketLocation\", \"s3:ListBucket\", \"s3:ListBucketMultipartUploads\"]," \
  "   \"Resource\": [\"arn:aws:s3:::$BUCKET\"]}," \
  "  {\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:PutObject\", \"s3:DeleteObject\"," \
  "                                \"s3:AbortMultipartUpload\", \"s3:ListMultipartUploadParts\"]," \
  "   \"Resource\": [\"arn:aws:s3:::$BUCKET/*\"]}" \
  ']}' > "$policy"
mc admin policy create local newsroom-rw "$policy"

log "user $NEWSROOM_MINIO_ACCESS_KEY"
# `user add` on an existing user sets its secret key, so rotating the secret in .env takes effect here.
mc admin user add local "$NEWSROOM_MINIO_ACCESS_KEY" "$NEWSROOM_MINIO_SECRET_KEY"
case "$(mc admin user info local "$NEWSROOM_MINIO_ACCESS_KEY" --json)" in
  *newsroom-rw*) log "policy already attached" ;;
  *) mc admin policy attach local newsroom-rw --user "$NEWSROOM_MINIO_ACCESS_KEY" ;;
esac

log "notification: put under $INBOX_PREFIX -> $NOTIFY_ARN"
mc event add --ignore-existing --event put --prefix "$INBOX_PREFIX" "local/$BUCKET" "$NOTIFY_ARN"
mc event ls "local/$BUCKET" "$NOTIFY_ARN"
log "done"
