{{/* Names: at most 63 characters; suffixes (-migrate, -test) stay within it. */}}
{{- define "benben.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "benben.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "benben.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "benben.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "benben.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Selector labels: immutable on a Deployment, so nothing here may ever change. */}}
{{- define "benben.selectorLabels" -}}
app.kubernetes.io/name: {{ include "benben.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Every object: the recommended labels, and Backstage's kubernetes-id. */}}
{{- define "benben.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "benben.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: benben
backstage.io/kubernetes-id: {{ include "benben.kubernetesId" . }}
{{- end }}

{{/* The label backstage.io/kubernetes-id, and what the instance advertises with backstage.enabled. */}}
{{- define "benben.kubernetesId" -}}
{{- default .Release.Name .Values.backstage.kubernetesId | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Whether the tool applying the chart runs Helm hooks: migrations.hook=false is the chart's switch
for those that do not (kubectl apply of `helm template`, ...); the Backstage registration follows
it too.
*/}}
{{- define "benben.hooksRun" -}}
{{- if .Values.migrations.hook }}true{{ end }}
{{- end }}

{{/*
The ConfigMap's data: settings as BENBEN_* variables (benben.foo.bar -> BENBEN_FOO_BAR), then what
the backstage block sets; a setting the block sets too would be a duplicate key: refused.
*/}}
{{- define "benben.configData" -}}
{{- $backstage := include "benben.backstageConfig" . | fromYaml -}}
{{- $server := include "benben.serverConfig" . | fromYaml -}}
BENBEN_DATA_DIR: /var/lib/benben
{{- range $key, $value := .Values.settings }}
{{- $env := $key | trimPrefix "benben." | replace "." "_" | upper | printf "BENBEN_%s" }}
{{- if hasKey $backstage $env }}
{{- fail (printf "settings.%s: the backstage block sets it while backstage.enabled is on; set it there (see docs/backstage.md)" $key) }}
{{- end }}
{{- if hasKey $server $env }}
{{- fail (printf "settings.%s: set it in the values' workers, or their server block (server.connectionLimit, channelTimeout, cleanupInterval, backlog, timeout, maxRequestBodySize)" $key) }}
{{- end }}
{{- with get (include "benben.workerSettings" $ | fromYaml) $env }}
{{- fail (printf "settings.%s: set it in the values' %s" $key .) }}
{{- end }}
{{- with get (include "benben.filesSettings" $ | fromYaml) $env }}
{{- fail (printf "settings.%s: set it in the values' %s" $key .) }}
{{- end }}
{{- with get (include "benben.backupSettings" $ | fromYaml) $env }}
{{- fail (printf "settings.%s: set it in the values' %s" $key .) }}
{{- end }}
{{- $words := list }}
{{- range (kindIs "slice" $value | ternary $value (list $value)) }}
{{- $words = append $words (include "benben.scalar" .) }}
{{- end }}
{{ $env }}: {{ join " " $words | quote }}
{{- end }}
{{- range $env, $value := $backstage }}
{{ $env }}: {{ $value | quote }}
{{- end }}
{{- range $env, $value := $server }}
{{ $env }}: {{ $value | quote }}
{{- end }}
{{- range $env, $value := include "benben.filesConfig" . | fromYaml }}
{{ $env }}: {{ $value | quote }}
{{- end }}
{{- range $env, $value := include "benben.backupConfig" . | fromYaml }}
{{ $env }}: {{ $value | quote }}
{{- end }}
{{- end }}

{{/*
benben serve's settings (benben.server.*), from the values' workers and server block: they win
over production.ini's [server:main]. The graceful stop fits in what the pod's grace period leaves
after the preStop sleep, with 5 s to spare for the exit.
*/}}
{{- define "benben.serverConfig" -}}
{{- $s := .Values.server }}
BENBEN_SERVER_WORKERS: {{ .Values.workers | int | quote }}
BENBEN_SERVER_CONNECTION_LIMIT: {{ $s.connectionLimit | int | quote }}
BENBEN_SERVER_CHANNEL_TIMEOUT: {{ $s.channelTimeout | int | quote }}
BENBEN_SERVER_CLEANUP_INTERVAL: {{ $s.cleanupInterval | int | quote }}
BENBEN_SERVER_BACKLOG: {{ $s.backlog | int | quote }}
BENBEN_SERVER_TIMEOUT: {{ $s.timeout | int | quote }}
BENBEN_SERVER_MAX_REQUEST_BODY_SIZE: {{ include "benben.scalar" $s.maxRequestBodySize | quote }}
BENBEN_SERVER_GRACEFUL_TIMEOUT: {{ max 1 (sub (sub (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) 5) | quote }}
{{- end }}

{{/*
benben.backstage.* settings of the instance, with backstage.enabled: the kubernetes-id it
advertises is the label of every object; empty entity fields keep the plugin's defaults. Without
hooks, each server registers itself when it starts (the plugin retries in the background).
*/}}
{{- define "benben.backstageConfig" -}}
{{- $b := .Values.backstage }}
{{- if $b.enabled }}
BENBEN_BACKSTAGE_KUBERNETES_ID: {{ include "benben.kubernetesId" . | quote }}
BENBEN_BACKSTAGE_URL: {{ $b.url | quote }}
{{- range $field := list "name" "owner" "system" "lifecycle" }}
{{- with index $b $field }}
BENBEN_BACKSTAGE_{{ upper $field }}: {{ . | quote }}
{{- end }}
{{- end }}
{{- if not (include "benben.hooksRun" .) }}
BENBEN_BACKSTAGE_REGISTER_ON_STARTUP: "true"
{{- end }}
{{- end }}
{{- end }}

{{/* A setting's value as text: YAML numbers arrive as floats, and 31536000 must not read 3.1536e+07. */}}
{{- define "benben.scalar" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/*
The chart's Secret data (stringData form), computed once per render and memoized, so that the
Secret, the migration hook's copy and the checksum annotation all see the same values. Each key:
the value given > the value in the release's Secret in the cluster (lookup; empty under helm
template) > for the server secret only, generated when secrets.generateSecret is on > failure.
*/}}
{{- define "benben.secretData" -}}
{{- if not (hasKey .Values.secrets "_rendered") }}
{{- $s := .Values.secrets }}
{{- $existing := dict }}
{{- $found := lookup "v1" "Secret" .Release.Namespace (include "benben.fullname" .) }}
{{- if $found }}{{- $existing = default (dict) $found.data }}{{- end }}
{{- $data := dict }}
{{- $keys := list
    (list "BENBEN_SECRET" $s.secret "secrets.secret" true)
    (list "BENBEN_DATABASE_URL" $s.databaseUrl "secrets.databaseUrl" true)
    (list "BENBEN_CACHE_URL" $s.cacheUrl "secrets.cacheUrl" true)
    (list "BENBEN_JWT_SECRET" $s.jwtSecret "secrets.jwtSecret" false)
    (list "BENBEN_ADMIN_PASSWORD" $s.adminPassword "secrets.adminPassword" false)
    (list "BENBEN_METRICS_TOKEN" $s.metricsToken "secrets.metricsToken" false) }}
{{- range $keys }}
{{- $key := index . 0 }}{{- $given := index . 1 }}{{- $value := index . 2 }}{{- $required := index . 3 }}
{{- if $given }}
{{- $_ := set $data $key $given }}
{{- else if hasKey $existing $key }}
{{- $_ := set $data $key (index $existing $key | b64dec) }}
{{- else if and (eq $key "BENBEN_SECRET") $s.generateSecret }}
{{- $_ := set $data $key (randAlphaNum 86) }}
{{- else if $required }}
{{- fail (printf "%s is required (or secrets.existingSecret, a Secret you manage); see docs/deployment.md" $value) }}
{{- end }}
{{- end }}
{{- /* The workers' broker: given > in the cluster > the cache's Redis, database 1. */}}
{{- if .Values.worker.enabled }}
{{- if $s.brokerUrl }}
{{- $_ := set $data "BENBEN_WORKER_BROKER_URL" $s.brokerUrl }}
{{- else if hasKey $existing "BENBEN_WORKER_BROKER_URL" }}
{{- $_ := set $data "BENBEN_WORKER_BROKER_URL" (index $existing "BENBEN_WORKER_BROKER_URL" | b64dec) }}
{{- else }}
{{- $_ := set $data "BENBEN_WORKER_BROKER_URL" (set (urlParse (get $data "BENBEN_CACHE_URL")) "path" "/1" | urlJoin) }}
{{- end }}
{{- else if $s.brokerUrl }}
{{- fail "secrets.brokerUrl is set but worker.enabled is false: the servers would send tasks to a broker no worker reads (leave it empty, or enable the worker)" }}
{{- end }}
{{- $_ := set .Values.secrets "_rendered" $data }}
{{- end }}
{{- toYaml (get .Values.secrets "_rendered") }}
{{- end }}

{{- define "benben.secretName" -}}
{{- default (include "benben.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Rolls the pods when the configuration or the secret changes. */}}
{{- define "benben.checksums" -}}
checksum/config: {{ include "benben.configData" . | sha256sum }}
{{- if .Values.secrets.existingSecret }}
{{- $found := lookup "v1" "Secret" .Release.Namespace .Values.secrets.existingSecret }}
checksum/secret: {{ printf "%s %s" .Values.secrets.existingSecret (toJson (default (dict) ($found).data)) | sha256sum }}
{{- else }}
checksum/secret: {{ include "benben.secretData" . | sha256sum }}
{{- end }}
{{- end }}

{{/* Environment of every Benben container: the ConfigMap and the Secret. */}}
{{- define "benben.envFrom" -}}
- configMapRef:
    name: {{ include "benben.fullname" . }}
- secretRef:
    name: {{ include "benben.secretName" . }}
{{- end }}

{{- define "benben.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "benben.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The migration command, shared by the hook Job and the init container. */}}
{{- define "benben.migrateContainer" -}}
name: migrate
image: {{ include "benben.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
command: ["benben", "migrate", "--ini", "production.ini"]
securityContext:
  {{- include "benben.containerSecurityContext" . | nindent 2 }}
resources:
  {{- toYaml .Values.migrations.resources | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/*
The Backstage token: backstage.token.value > the value in the cluster's <fullname>-backstage
Secret (lookup; empty under helm template) > none.
*/}}
{{- define "benben.backstageToken" -}}
{{- $token := .Values.backstage.token }}
{{- if $token.value }}
{{- $token.value }}
{{- else if not $token.existingSecret }}
{{- $found := lookup "v1" "Secret" .Release.Namespace (printf "%s-backstage" (include "benben.fullname" .)) }}
{{- if and $found $found.data (hasKey $found.data "token") }}
{{- index $found.data "token" | b64dec }}
{{- end }}
{{- end }}
{{- end }}

{{/*
BENBEN_BACKSTAGE_TOKEN from a Secret: given only to what calls Backstage (the registration Jobs,
or the servers when they register themselves), never through the ConfigMap or the chart's Secret.
Nothing when there is no token.
*/}}
{{- define "benben.backstageTokenEnv" -}}
{{- $token := .Values.backstage.token }}
{{- if or $token.existingSecret (include "benben.backstageToken" .) -}}
- name: BENBEN_BACKSTAGE_TOKEN
  valueFrom:
    secretKeyRef:
      {{- if $token.existingSecret }}
      name: {{ $token.existingSecret }}
      key: {{ $token.key }}
      {{- else }}
      name: {{ include "benben.fullname" . }}-backstage
      key: token
      {{- end }}
{{- end }}
{{- end }}
