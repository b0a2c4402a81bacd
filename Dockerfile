# kiln in a container: the static binary on an empty base, data in a volume.
#   docker build -t kiln .
#   docker run -p 8080:8080 -v kiln-data:/var/lib/kiln kiln
# The first admin token is written to /var/lib/kiln/admin-token in the volume.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -buildvcs=true -trimpath -o /kiln ./cmd/kiln && mkdir -p /data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /kiln /kiln
# A named volume starts as a copy of this directory, owned by the user kiln runs as.
COPY --from=build --chown=65532:65532 /data /var/lib/kiln
USER 65532:65532
VOLUME /var/lib/kiln
ENV KILN_DATA=/var/lib/kiln KILN_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/kiln"]
CMD ["serve"]
