# The schema of migrations 0001_initial to 0005_artist_matches in one step, for new databases: made by
# makemigrations from the models, with each constraint and index folded into its CreateModel
# (migrate on a new database took 5.7 s, most of it re-rendering models after every AddField and
# AddConstraint). Databases that applied the old migrations keep them; Django records this one
# as applied there.

import django.db.models.deletion
import django.utils.timezone
import fingerprint.models.references
import secrets
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('fingerprint', '0001_initial'),
        ('fingerprint', '0002_platform_intake'),
        ('fingerprint', '0003_reference_upload'),
        ('fingerprint', '0004_work_matches'),
        ('fingerprint', '0005_artist_matches'),
    ]

    initial = True

    dependencies = [
        ('auth', '__first__'),
        ('catalog', '0001_squashed_0004_artist_ai_consent'),
    ]

    operations = [
        migrations.CreateModel(
            name='Platform',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('members', models.ManyToManyField(blank=True, related_name='platforms', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(blank=True, max_length=100)),
                ('prefix', models.CharField(db_index=True, help_text="The key's first characters.", max_length=8)),
                ('digest', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(help_text='The member the token acts as.', on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='fingerprint.platform')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='ReferenceFingerprint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('engine_version', models.CharField(max_length=32)),
                ('landmark_count', models.PositiveIntegerField()),
                ('indexed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('asset', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='fingerprint', to='catalog.audioasset')),
            ],
        ),
        migrations.CreateModel(
            name='ReferenceUpload',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('staged_file', models.FileField(blank=True, help_text='Empty once the upload is done or failed.', max_length=300, upload_to=fingerprint.models.references.staged_upload_path)),
                ('original_name', models.CharField(blank=True, max_length=300)),
                ('size_bytes', models.BigIntegerField(default=0)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('fingerprinting', 'Fingerprinting'), ('done', 'Fingerprinted'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16)),
                ('error', models.TextField(blank=True, help_text='Why it failed, for the person who sent it.')),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('asset', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reference_uploads', to='catalog.audioasset')),
                ('recording', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reference_uploads', to='catalog.recording')),
                ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reference_uploads', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='Source',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('kind', models.CharField(choices=[('urls', 'List of audio URLs'), ('feed', 'RSS / Atom feed (enclosures)'), ('page', 'HTML page (audio links)')], max_length=8)),
                ('urls', models.TextField(help_text='One URL per line: the audio files, the feed, or the page.')),
                ('active', models.BooleanField(default=True)),
                ('interval_minutes', models.PositiveIntegerField(default=60)),
                ('next_crawl_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('last_crawled_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='Scan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source_url', models.URLField(blank=True, help_text='The URL the audio was fetched from.', max_length=2000)),
                ('original_name', models.CharField(blank=True, help_text='The file name the platform sent.', max_length=255)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('dispatched_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16)),
                ('error', models.TextField(blank=True)),
                ('engine_version', models.CharField(blank=True, max_length=32)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('asset', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='scans', to='catalog.audioasset')),
                ('platform', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='scans', to='fingerprint.platform')),
                ('submitted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='scans', to=settings.AUTH_USER_MODEL)),
                ('source', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='scans', to='fingerprint.source')),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['platform', '-id'], name='scan_platform_recent')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('platform__isnull', False), ('source_url', '')), fields=('platform', 'asset'), name='scan_upload_once_per_platform')],
            },
        ),
        migrations.CreateModel(
            name='Fetch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(db_index=True, max_length=2000)),
                ('final_url', models.URLField(blank=True, help_text='After redirects.', max_length=2000)),
                ('outcome', models.CharField(choices=[('scanned', 'Fetched and queued for a scan'), ('listed', 'Fetched a feed or page and listed its audio links'), ('duplicate_url', 'Already fetched (same URL)'), ('duplicate_content', 'Already scanned (same content)'), ('robots', 'Disallowed by robots.txt'), ('blocked', 'Refused: private, loopback or link-local address'), ('http_error', 'HTTP error'), ('too_large', 'Over the size limit'), ('not_audio', 'Not usable audio'), ('error', 'Network or other error')], db_index=True, max_length=20)),
                ('http_status', models.PositiveIntegerField(blank=True, null=True)),
                ('sha256', models.CharField(blank=True, db_index=True, max_length=64)),
                ('size_bytes', models.PositiveBigIntegerField(blank=True, null=True)),
                ('detail', models.TextField(blank=True)),
                ('fetched_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('scan', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='fingerprint.scan')),
                ('source', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='fetches', to='fingerprint.source')),
            ],
            options={
                'ordering': ['-fetched_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='Submission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('idempotency_key', models.CharField(max_length=255)),
                ('request_digest', models.CharField(help_text='sha256 over the submitted items: a key reused for other content is refused.', max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='submissions', to='fingerprint.platform')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('platform', 'idempotency_key'), name='submission_key_once_per_platform')],
            },
        ),
        migrations.AddField(
            model_name='scan',
            name='submission',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='scans', to='fingerprint.submission'),
        ),
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(max_length=2000)),
                ('secret', models.CharField(default=secrets.token_hex, help_text='Signs each delivery (HMAC-SHA256).', max_length=64)),
                ('events', models.JSONField(blank=True, default=list, help_text='Event names to send; empty sends every event.')),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhooks', to='fingerprint.platform')),
            ],
            options={
                'ordering': ['platform', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_id', models.UUIDField(default=uuid.uuid4, help_text='The same for every attempt: receivers dedupe on it.')),
                ('event', models.CharField(max_length=64)),
                ('payload', models.JSONField()),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed (retries exhausted)')], db_index=True, default='pending', max_length=16)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('last_status_code', models.PositiveIntegerField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('log', models.JSONField(blank=True, default=list, help_text='Each attempt: at, status code or error, seconds.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='fingerprint.webhookendpoint')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'constraints': [models.UniqueConstraint(fields=('endpoint', 'event_id'), name='webhook_delivery_event_once_per_endpoint')],
            },
        ),
        migrations.CreateModel(
            name='WorkMatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('query_start_s', models.FloatField(help_text='Where the performance starts in the upload (s).')),
                ('query_end_s', models.FloatField()),
                ('reference_start_s', models.FloatField(help_text='Where the matched part starts in the rendition (s).')),
                ('reference_end_s', models.FloatField()),
                ('transpose_semitones', models.SmallIntegerField(help_text='The upload is the work moved up this many semitones.')),
                ('tempo_ratio', models.FloatField(default=1.0, help_text='Upload tempo / rendition tempo.')),
                ('score', models.FloatField(help_text='The decision score (accepted from works.DECISION_THRESHOLD).')),
                ('confidence', models.FloatField(help_text='0..1.')),
                ('engine_version', models.CharField(max_length=32)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('rendition', models.ForeignKey(blank=True, help_text='The rendition the work index holds for the work (its latest).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='rendition_matches', to='catalog.audioasset')),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='work_matches', to='fingerprint.scan')),
                ('work', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='work_matches', to='catalog.work')),
            ],
            options={
                'ordering': ['scan', 'query_start_s'],
                'constraints': [models.UniqueConstraint(fields=('scan', 'work'), name='work_match_one_per_work_per_scan')],
            },
        ),
        migrations.CreateModel(
            name='Match',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('query_start_s', models.FloatField(help_text='Where the match starts in the upload (s).')),
                ('query_end_s', models.FloatField(help_text='Where it ends in the upload (s).')),
                ('reference_start_s', models.FloatField(help_text='Where the matched span starts in the reference (s).')),
                ('reference_end_s', models.FloatField()),
                ('pitch_factor', models.FloatField(default=1.0, help_text='Upload pitch / reference pitch.')),
                ('tempo_factor', models.FloatField(default=1.0, help_text='Upload tempo / reference tempo.')),
                ('aligned_landmarks', models.PositiveIntegerField()),
                ('score', models.FloatField(help_text='Aligned landmarks: grows with the evidence.')),
                ('confidence', models.FloatField(help_text='0..1.')),
                ('engine_version', models.CharField(max_length=32)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('recording', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='matches', to='catalog.recording')),
                ('reference_asset', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reference_matches', to='catalog.audioasset')),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='matches', to='fingerprint.scan')),
            ],
            options={
                'ordering': ['scan', 'query_start_s'],
                'constraints': [models.UniqueConstraint(fields=('scan', 'reference_asset'), name='match_one_per_reference_per_scan')],
            },
        ),
        migrations.CreateModel(
            name='ArtistMatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('similarity', models.FloatField(help_text="Cosine to the artist's style profile, in the collection's metric.")),
                ('typicality', models.FloatField(help_text="0 at the edge of other artists' tracks, 1 at the artist's own median track.", null=True)),
                ('exclusivity', models.FloatField(help_text="The share of other artists' excerpts no closer to the profile.")),
                ('style_version', models.CharField(max_length=32)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('artist', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='likeness_matches', to='catalog.artist')),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='artist_matches', to='fingerprint.scan')),
            ],
            options={
                'ordering': ['scan', '-similarity'],
                'constraints': [models.UniqueConstraint(fields=('scan', 'artist'), name='artist_match_one_per_artist_per_scan')],
            },
        ),
    ]
