{{/*
The files plugin's storage (values `files`, docs/files.md): a volume shared by the server and
worker pods, or an S3-compatible bucket. What every pod may know goes into the ConfigMap; the
volume's path and the bucket's credentials go only to the containers that touch the storage (the
servers and the workers): the migration and Backstage Jobs start the app too, and must not look
for a volume they do not mount.
*/}}

{{/* Whether the pods mount a files volume. */}}
{{- define "benben.filesVolume" -}}
{{- $f := .Values.files }}
{{- if and (eq $f.storage "local") $f.local.persistence.enabled }}true{{ end }}
{{- end }}

{{- define "benben.filesClaimName" -}}
{{- default (printf "%s-files" (include "benben.fullname" .)) .Values.files.local.persistence.existingClaim }}
{{- end }}

{{/* The ConfigMap's benben.files.* variables: the bucket's (nothing for local storage). */}}
{{- define "benben.filesConfig" -}}
{{- $f := .Values.files }}
{{- if eq $f.storage "s3" }}
{{- $s3 := $f.s3 }}
{{- if not $s3.bucket }}
{{- fail "files.s3.bucket is required with files.storage=s3 (Benben creates no bucket)" }}
{{- end }}
BENBEN_FILES_STORAGE: s3
BENBEN_FILES_S3_BUCKET: {{ $s3.bucket | quote }}
BENBEN_FILES_S3_ADDRESSING_STYLE: {{ $s3.addressingStyle | quote }}
BENBEN_FILES_PRESIGNED_DOWNLOADS: {{ $s3.presignedDownloads | toString | quote }}
BENBEN_FILES_PRESIGNED_EXPIRY: {{ $s3.presignedExpiry | int | quote }}
{{- with $s3.endpointUrl }}
BENBEN_FILES_S3_ENDPOINT_URL: {{ . | quote }}
{{- end }}
{{- with $s3.region }}
BENBEN_FILES_S3_REGION: {{ . | quote }}
{{- end }}
{{- with $s3.prefix }}
BENBEN_FILES_S3_PREFIX: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The settings the files block sets, refused in `settings` (they would disagree or leak). */}}
{{- define "benben.filesSettings" -}}
BENBEN_FILES_STORAGE: files.storage
BENBEN_FILES_LOCAL_PATH: files.local.mountPath
BENBEN_FILES_S3_BUCKET: files.s3.bucket
BENBEN_FILES_S3_ENDPOINT_URL: files.s3.endpointUrl
BENBEN_FILES_S3_REGION: files.s3.region
BENBEN_FILES_S3_PREFIX: files.s3.prefix
BENBEN_FILES_S3_ADDRESSING_STYLE: files.s3.addressingStyle
BENBEN_FILES_PRESIGNED_DOWNLOADS: files.s3.presignedDownloads
BENBEN_FILES_PRESIGNED_EXPIRY: files.s3.presignedExpiry
BENBEN_FILES_S3_ACCESS_KEY_ID: files.s3.credentials (a Secret, never the ConfigMap)
BENBEN_FILES_S3_SECRET_ACCESS_KEY: files.s3.credentials (a Secret, never the ConfigMap)
{{- end }}

{{/* EnvVars of the containers that use the storage (servers, workers); may be empty. */}}
{{- define "benben.filesEnv" -}}
{{- $f := .Values.files }}
{{- if include "benben.filesVolume" . }}
- name: BENBEN_FILES_LOCAL_PATH
  value: {{ $f.local.mountPath | quote }}
{{- end }}
{{- if and (eq $f.storage "s3") $f.s3.credentials.existingSecret }}
{{- $c := $f.s3.credentials }}
- name: BENBEN_FILES_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $c.existingSecret }}
      key: {{ $c.accessKeyIdKey }}
- name: BENBEN_FILES_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $c.existingSecret }}
      key: {{ $c.secretAccessKeyKey }}
{{- end }}
{{- end }}

{{- define "benben.filesVolumeMount" -}}
{{- if include "benben.filesVolume" . }}
- name: files
  mountPath: {{ .Values.files.local.mountPath }}
{{- end }}
{{- end }}

{{- define "benben.filesVolumeSource" -}}
{{- if include "benben.filesVolume" . }}
- name: files
  persistentVolumeClaim:
    claimName: {{ include "benben.filesClaimName" . }}
{{- end }}
{{- end }}

{{/*
A size in bytes from an nginx size (10m, 1g, 512k) or a Kubernetes quantity (256Mi, 1G); 0 when
it cannot be read. Used for NOTES.txt's warnings only.
*/}}
{{- define "benben.bytes" -}}
{{- $text := toString . | trim }}
{{- $number := regexFind "^[0-9]+" $text }}
{{- $unit := trimPrefix $number $text }}
{{- $units := dict "" 1 "k" 1024 "K" 1024 "m" 1048576 "M" 1048576 "g" 1073741824 "G" 1073741824 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "T" 1099511627776 }}
{{- if and $number (hasKey $units $unit) }}{{ mul (int64 $number) (get $units $unit) }}{{ else }}0{{ end }}
{{- end }}

{{/* benben.files.max_file_size as the instance will see it (the plugin's default: 100 MiB). */}}
{{- define "benben.filesMaxFileSize" -}}
{{- $given := get .Values.settings "benben.files.max_file_size" }}
{{- if $given }}{{ include "benben.scalar" $given }}{{ else }}104857600{{ end }}
{{- end }}
