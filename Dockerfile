# syntax=docker/dockerfile:1
# planbot: multi-stage build, runs as a non-root user, terraform and
# OpenTofu included.

# planbot supports terraform 1.5 and later 1.x releases (README.md); the
# image ships the version CI tests with (.ci/run checks they agree). Build
# with --build-arg TERRAFORM_VERSION=… for the version your state was
# written with.
ARG TERRAFORM_VERSION=1.5.7
# OpenTofu runs the projects that ask for it (`engine: tofu`, or
# --terraform-bin tofu); 1.10 and later 1.x releases are supported.
ARG TOFU_VERSION=1.10.6

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# nomsgpack leaves gin's MessagePack binding (and its codec) out: planbot
# reads JSON only, and the codec's package initialization alone keeps about
# 1.3 MB of the binary resident.
RUN CGO_ENABLED=0 go build -tags nomsgpack -trimpath -ldflags="-s -w" -o /out/planbot ./cmd/planbot \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/planbot-sandbox ./cmd/planbot-sandbox

# Terraform is taken from HashiCorp's official image.
FROM hashicorp/terraform:${TERRAFORM_VERSION} AS terraform

# OpenTofu's minimal image holds only its binary, for copying.
FROM ghcr.io/opentofu/opentofu:${TOFU_VERSION}-minimal AS tofu

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/planbot --uid 10001 planbot \
 && mkdir -p /var/lib/planbot && chown planbot:planbot /var/lib/planbot
COPY --from=terraform /bin/terraform /usr/local/bin/terraform
COPY --from=tofu /usr/local/bin/tofu /usr/local/bin/tofu
COPY --from=build /out/planbot /out/planbot-sandbox /usr/local/bin/
USER planbot
ENV PLANBOT_DATA_DIR=/var/lib/planbot \
    PLANBOT_ADDR=:8080
VOLUME /var/lib/planbot
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/planbot"]
CMD ["server"]
