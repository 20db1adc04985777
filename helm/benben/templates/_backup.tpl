{{/*
Scheduled backups (values `backup`, docs/backups.md), by one of two routes: the worker
(backup.intervalHours > 0: the scheduler sends benben.backup.scheduled, a worker runs it, or a
server pod with worker.enabled=false) or a CronJob (backup.cronjob.enabled: `benben backup`).
Archives go to backup.output: s3://bucket/prefix, or the backups volume mounted at that path.
Whoever writes archives mounts that volume (or gets the bucket's keys) and a scratch volume for
TMPDIR: the tables are spooled there before the archive is written (and an S3 archive whole).
*/}}

{{/* Which route: "worker", "cronjob" or "" (none); both at once is refused. */}}
{{- define "benben.backupRoute" -}}
{{- $b := .Values.backup }}
{{- if and $b.cronjob.enabled (gt (int $b.intervalHours) 0) }}
{{- fail "backup: choose one route, backup.intervalHours (the worker) or backup.cronjob.enabled, not both (every backup would be made twice)" }}
{{- end }}
{{- if $b.cronjob.enabled }}cronjob{{ else if gt (int $b.intervalHours) 0 }}worker{{ end }}
{{- end }}

{{/* Whether backups go to the backups volume (output is not s3://). */}}
{{- define "benben.backupVolume" -}}
{{- if and (include "benben.backupRoute" .) (not (hasPrefix "s3://" .Values.backup.output)) }}true{{ end }}
{{- end }}

{{- define "benben.backupClaimName" -}}
{{- default (printf "%s-backups" (include "benben.fullname" .)) .Values.backup.persistence.existingClaim }}
{{- end }}

{{/* Whether the pods of `component` (server, worker, cronjob) write archives. */}}
{{- define "benben.backupWriter" -}}
{{- $route := include "benben.backupRoute" .root }}
{{- if eq $route "cronjob" }}{{ if eq .component "cronjob" }}true{{ end }}
{{- else if eq $route "worker" }}
{{- if eq .component (.root.Values.worker.enabled | ternary "worker" "server") }}true{{ end }}
{{- end }}
{{- end }}

{{/* The --output of `benben backup`, and the worker's target: a directory or a bucket. */}}
{{- define "benben.backupOutput" -}}
{{- $out := .Values.backup.output }}
{{- if hasPrefix "s3://" $out }}{{ $out }}{{ else }}{{ trimSuffix "/" $out }}/{{ end }}
{{- end }}

{{/* The ConfigMap's benben.backup.* variables. */}}
{{- define "benben.backupConfig" -}}
{{- $b := .Values.backup }}
{{- if eq (include "benben.backupRoute" .) "worker" }}
BENBEN_BACKUP_INTERVAL_HOURS: {{ $b.intervalHours | int | quote }}
BENBEN_BACKUP_TARGET: {{ include "benben.backupOutput" . | quote }}
BENBEN_BACKUP_KEEP_DAILY: {{ $b.keepDaily | int | quote }}
BENBEN_BACKUP_KEEP_WEEKLY: {{ $b.keepWeekly | int | quote }}
{{- end }}
{{- if include "benben.backupRoute" . }}
{{- with $b.s3.endpointUrl }}
BENBEN_BACKUP_S3_ENDPOINT_URL: {{ . | quote }}
{{- end }}
{{- with $b.s3.region }}
BENBEN_BACKUP_S3_REGION: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The settings the backup block sets, refused in `settings`. */}}
{{- define "benben.backupSettings" -}}
BENBEN_BACKUP_INTERVAL_HOURS: backup.intervalHours
BENBEN_BACKUP_TARGET: backup.output
BENBEN_BACKUP_KEEP_DAILY: backup.keepDaily
BENBEN_BACKUP_KEEP_WEEKLY: backup.keepWeekly
BENBEN_BACKUP_S3_ENDPOINT_URL: backup.s3.endpointUrl
BENBEN_BACKUP_S3_REGION: backup.s3.region
{{- end }}

{{/* EnvVars of the containers that write archives: the scratch TMPDIR, the bucket's keys. */}}
{{- define "benben.backupEnv" -}}
{{- if include "benben.backupWriter" . }}
{{- $c := .root.Values.backup.s3.credentials }}
- name: TMPDIR
  value: /var/tmp/benben-backup
{{- if and (hasPrefix "s3://" .root.Values.backup.output) $c.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $c.existingSecret }}
      key: {{ $c.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $c.existingSecret }}
      key: {{ $c.secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- end }}

{{- define "benben.backupVolumeMounts" -}}
{{- if include "benben.backupWriter" . }}
- name: backup-scratch
  mountPath: /var/tmp/benben-backup
{{- if include "benben.backupVolume" .root }}
- name: backups
  mountPath: {{ trimSuffix "/" .root.Values.backup.output }}
{{- end }}
{{- end }}
{{- end }}

{{- define "benben.backupVolumes" -}}
{{- if include "benben.backupWriter" . }}
- name: backup-scratch
  emptyDir:
    sizeLimit: {{ .root.Values.backup.scratchSizeLimit }}
{{- if include "benben.backupVolume" .root }}
- name: backups
  persistentVolumeClaim:
    claimName: {{ include "benben.backupClaimName" .root }}
{{- end }}
{{- end }}
{{- end }}
