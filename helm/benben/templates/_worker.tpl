{{/*
What the worker and the scheduler pods get besides the ConfigMap and the Secret: where their
health server listens (every interface, for the kubelet's probes) and, for the workers, their
concurrency and queues. The broker URL is named explicitly, so that a Secret without it stops
the pod (CreateContainerConfigError naming the key) instead of running no tasks silently.
*/}}
{{- define "benben.workerEnv" -}}
- name: BENBEN_WORKER_HEALTH_HOST
  value: "0.0.0.0"
- name: BENBEN_WORKER_HEALTH_PORT
  value: {{ .Values.worker.healthPort | quote }}
{{ include "benben.brokerEnv" . }}
{{- if and .Values.backstage.enabled (not (include "benben.hooksRun" .)) }}
{{- /* The servers register the instance in Backstage; they alone have the token. */}}
- name: BENBEN_BACKSTAGE_REGISTER_ON_STARTUP
  value: "false"
{{- end }}
{{- end }}

{{- define "benben.brokerEnv" -}}
- name: BENBEN_WORKER_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "benben.secretName" . }}
      key: BENBEN_WORKER_BROKER_URL
{{- end }}

{{/* The settings the worker block sets, refused in `settings` (they would disagree). */}}
{{- define "benben.workerSettings" -}}
BENBEN_WORKER_BROKER_URL: secrets.brokerUrl
BENBEN_WORKER_CONCURRENCY: worker.concurrency
BENBEN_WORKER_QUEUES: worker.queues
BENBEN_WORKER_HEALTH_HOST: worker.healthPort
BENBEN_WORKER_HEALTH_PORT: worker.healthPort
{{- end }}

{{/*
The spec of a worker or scheduler pod: `component` (worker, scheduler), `command`, `env` (extra
EnvVars, YAML), `resources`, `podAnnotations`. Shares the server pods' image, configuration,
secret, security, scheduling and migrations.
*/}}
{{- define "benben.backgroundPod" -}}
{{- $root := .root }}
{{- $w := $root.Values.worker -}}
metadata:
  annotations:
    {{- include "benben.checksums" $root | nindent 4 }}
    {{- with $root.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with .podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "benben.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $root.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "benben.serviceAccountName" $root }}
  automountServiceAccountToken: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- include "benben.podSecurityContext" $root | nindent 4 }}
  terminationGracePeriodSeconds: {{ $w.terminationGracePeriodSeconds }}
  {{- if eq .component "worker" }}
  topologySpreadConstraints:
    {{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
    - maxSkew: 1
      topologyKey: {{ . }}
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "benben.selectorLabels" $root | nindent 10 }}
          app.kubernetes.io/component: worker
    {{- end }}
  {{- end }}
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if and $root.Values.migrations.enabled (not $root.Values.migrations.hook) }}
  initContainers:
    - {{- include "benben.migrateContainer" $root | nindent 6 }}
      envFrom:
        {{- include "benben.envFrom" $root | nindent 8 }}
      {{- with $root.Values.extraEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "benben.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command: {{ toJson .command }}
      ports:
        - name: health
          containerPort: {{ $w.healthPort }}
          protocol: TCP
      envFrom:
        {{- include "benben.envFrom" $root | nindent 8 }}
      env:
        {{- include "benben.workerEnv" $root | nindent 8 }}
        {{- with .env }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- if eq .component "worker" }}
        {{- with include "benben.filesEnv" $root }}{{- . | nindent 8 }}{{- end }}
        {{- end }}
        {{- with include "benben.backupEnv" (dict "root" $root "component" .component) }}{{- . | nindent 8 }}{{- end }}
        {{- with $root.Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet:
          path: /health/live
          port: health
        {{- toYaml $w.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet:
          path: /health/live
          port: health
        {{- toYaml $w.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /health/ready
          port: health
        {{- toYaml $w.probes.readiness | nindent 8 }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- include "benben.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: data
          mountPath: /var/lib/benben
        {{- if eq .component "worker" }}
        {{- /* The workers sweep orphans and make thumbnails; the scheduler only sends tasks. */}}
        {{- with include "benben.filesVolumeMount" $root }}{{- . | nindent 8 }}{{- end }}
        {{- end }}
        {{- with include "benben.backupVolumeMounts" (dict "root" $root "component" .component) }}{{- . | nindent 8 }}{{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpSizeLimit }}
    - name: data
      emptyDir:
        sizeLimit: {{ $root.Values.dataSizeLimit }}
    {{- if eq .component "worker" }}
    {{- with include "benben.filesVolumeSource" $root }}{{- . | nindent 4 }}{{- end }}
    {{- end }}
    {{- with include "benben.backupVolumes" (dict "root" $root "component" .component) }}{{- . | nindent 4 }}{{- end }}
{{- end }}
