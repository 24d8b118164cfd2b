# shellcheck shell=bash
# tests/e2e/lib/manifests.sh: manifests several e2e tests deploy.
#
# ks_web_deployment FILE REPLICAS GREETING: a Deployment "web" of busybox
# httpd pods serving GREETING on port 8080 (from the GREETING env var, so a
# new greeting changes the pod template and rolls the pods), ready once the
# port accepts connections, stopped within 2 s.
ks_web_deployment() {
  local file="$1" replicas="$2" greeting="$3"
  cat > "$file" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: $replicas
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: localhost/keelson-busybox:latest
          command: ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; echo \$GREETING > /www/index.html; httpd -f -p 8080 -h /www & wait"]
          env:
            - {name: GREETING, value: "$greeting"}
          readinessProbe:
            tcpSocket: {port: 8080}
            periodSeconds: 1
YAML
}

# ks_sleeper_deployment FILE REPLICAS: a Deployment "web" of busybox pods
# that only sleep until stopped (1 s grace): pods for tests of the
# scheduling, status and watch paths rather than of what the pods serve.
ks_sleeper_deployment() {
  local file="$1" replicas="$2"
  cat > "$file" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: $replicas
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: localhost/keelson-busybox:latest
        command: [sh, -c, 'while true; do sleep 1; done']
YAML
}
