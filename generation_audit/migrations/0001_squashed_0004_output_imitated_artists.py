# The schema of migrations 0001_initial to 0004_output_imitated_artists in one step, for new databases: made by
# makemigrations from the models, with each constraint and index folded into its CreateModel
# (migrate on a new database took 5.7 s, most of it re-rendering models after every AddField and
# AddConstraint). Databases that applied the old migrations keep them; Django records this one
# as applied there.

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('generation_audit', '0001_initial'),
        ('generation_audit', '0002_verdict_and_ai_services'),
        ('generation_audit', '0003_imitation_reports'),
        ('generation_audit', '0004_output_imitated_artists'),
    ]

    initial = True

    dependencies = [
        ('auth', '__first__'),
        ('catalog', '0001_squashed_0004_artist_ai_consent'),
        ('fingerprint', '0001_squashed_0005_artist_matches'),
        ('rights', '0001_squashed_0007_likeness_licences'),
    ]

    operations = [
        migrations.CreateModel(
            name='AIService',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField(max_length=80, unique=True)),
                ('kind', models.CharField(choices=[('generation', 'Generation'), ('recommendation', 'Recommendation')], max_length=16)),
                ('backend', models.CharField(choices=[('builtin_recommender', 'Built-in recommender (FAISS neighbours)'), ('http', 'External service over HTTP'), ('python', 'Python class (dotted path)')], max_length=24)),
                ('endpoint', models.URLField(blank=True, help_text='HTTP backend: the URL calls are POSTed to.')),
                ('adapter_path', models.CharField(blank=True, help_text='Python backend: dotted path of the class.', max_length=200)),
                ('required_marks', models.JSONField(blank=True, default=list, help_text='Marks every generated output must carry: "c2pa" (a valid manifest), "digital_source_type" (IPTC trainedAlgorithmicMedia or a relative), "ai_tag" (a declared AI tag).')),
                ('timeout_s', models.FloatField(default=30.0, validators=[django.core.validators.MinValueValidator(0.1)])),
                ('max_output_bytes', models.PositiveBigIntegerField(default=209715200)),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('licence', models.ForeignKey(blank=True, help_text='The licence the service operates under; its licensee must be the operator.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ai_services', to='rights.licence')),
                ('operator', models.ForeignKey(help_text='The licensee running it.', on_delete=django.db.models.deletion.PROTECT, related_name='ai_services', to='rights.rightsholder')),
            ],
            options={
                'verbose_name': 'AI service',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ProvenanceRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16)),
                ('detector_versions', models.JSONField(default=dict, help_text='Detector name -> version this run used.')),
                ('ai_generated', models.BooleanField(blank=True, help_text='The combined verdict; empty until done.', null=True)),
                ('score', models.FloatField(blank=True, help_text='0..1, combined; rises with confidence it is generated.', null=True)),
                ('verdict_version', models.CharField(blank=True, max_length=32)),
                ('error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='provenance_runs', to='catalog.audioasset')),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['asset', 'status'], name='generation__asset_i_87b6fe_idx')],
            },
        ),
        migrations.CreateModel(
            name='ImitationReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('similarity', models.FloatField(help_text="Style likeness to the artist's profile (cosine).")),
                ('ai_score', models.FloatField(help_text="The provenance verdict's score for the upload.")),
                ('licensed_territories', models.JSONField(blank=True, default=list, help_text="Where the uploader may use the artist's likeness (style), that day.")),
                ('licences', models.JSONField(blank=True, default=list, help_text='References of the licences giving that cover.')),
                ('licence_note', models.CharField(help_text='Why the uploader is or is not licensed.', max_length=500)),
                ('status', models.CharField(choices=[('open', 'Open: to review'), ('licensed', 'Licensed: the uploader holds an AI-likeness licence for the artist'), ('confirmed', 'Confirmed imitation'), ('dismissed', 'Dismissed')], db_index=True, default='open', max_length=16)),
                ('review_note', models.TextField(blank=True)),
                ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('artist', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='imitation_reports', to='catalog.artist')),
                ('artist_match', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='fingerprint.artistmatch')),
                ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='imitation_reports', to='fingerprint.scan')),
                ('provenance_run', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='imitation_reports', to='generation_audit.provenancerun')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'constraints': [models.UniqueConstraint(fields=('scan', 'artist'), name='one_imitation_report_per_scan_artist')],
            },
        ),
        migrations.CreateModel(
            name='Finding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('detector', models.CharField(max_length=64)),
                ('detector_version', models.CharField(max_length=64)),
                ('score', models.FloatField(help_text='0..1, rising with the calibrated probability that the audio is AI-generated.')),
                ('label', models.CharField(db_index=True, max_length=32)),
                ('strength', models.CharField(blank=True, help_text='strong, moderate or weak/self-declared.', max_length=32)),
                ('evidence', models.JSONField(default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='findings', to='generation_audit.provenancerun')),
            ],
            options={
                'ordering': ['run', 'detector'],
                'constraints': [models.UniqueConstraint(fields=('run', 'detector'), name='finding_one_per_detector_per_run')],
            },
        ),
        migrations.CreateModel(
            name='ServiceCall',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('operation', models.CharField(help_text='generate, recommend, ...', max_length=32)),
                ('territory', models.CharField(max_length=2)),
                ('request', models.JSONField(default=dict)),
                ('licence_reason', models.TextField(blank=True)),
                ('status', models.CharField(choices=[('refused', 'Refused (not licensed)'), ('ok', 'Answered'), ('failed', 'Failed')], db_index=True, max_length=12)),
                ('error', models.TextField(blank=True)),
                ('response', models.JSONField(blank=True, default=dict, help_text='What the service answered (audio by hash).')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('duration_ms', models.PositiveIntegerField(default=0)),
                ('caller', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='ai_service_calls', to=settings.AUTH_USER_MODEL)),
                ('licence', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ai_service_calls', to='rights.licence')),
                ('licensee', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ai_service_calls', to='rights.rightsholder')),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='calls', to='generation_audit.aiservice')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField(unique=True)),
                ('event', models.CharField(db_index=True, max_length=32)),
                ('payload', models.JSONField()),
                ('prev_hash', models.CharField(max_length=64)),
                ('entry_hash', models.CharField(max_length=64, unique=True)),
                ('recorded_at', models.DateTimeField()),
                ('call', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to='generation_audit.servicecall')),
            ],
            options={
                'verbose_name_plural': 'ledger entries',
                'ordering': ['seq'],
            },
        ),
        migrations.CreateModel(
            name='GeneratedOutput',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('metadata', models.JSONField(blank=True, default=dict, help_text='What the service said of the audio.')),
                ('audit_status', models.CharField(choices=[('pending', 'Pending'), ('clear', 'Clear'), ('flagged', 'Flagged'), ('failed', 'Audit failed')], db_index=True, default='pending', max_length=12)),
                ('replicated_spans', models.JSONField(blank=True, default=list)),
                ('imitated_artists', models.JSONField(blank=True, default=list, help_text='The registered artist it sounds like, and whether that is licensed.')),
                ('marks', models.JSONField(blank=True, default=dict, help_text='Marks found and marks missing.')),
                ('audit_error', models.TextField(blank=True)),
                ('audited_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='generated_outputs', to='catalog.audioasset')),
                ('call', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='output', to='generation_audit.servicecall')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='TrainingManifest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('model_version', models.CharField(max_length=100)),
                ('trained_on', models.DateField(help_text='When training ran; licences are checked on this day.')),
                ('territory', models.CharField(default='WORLD', help_text='Where training ran (WORLD: anywhere).', max_length=5)),
                ('audit_status', models.CharField(choices=[('pending', 'Pending'), ('passed', 'Passed'), ('failed', 'Failed')], db_index=True, default='pending', max_length=12)),
                ('audit_report', models.JSONField(blank=True, default=dict)),
                ('audited_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='manifests', to='generation_audit.aiservice')),
            ],
            options={
                'ordering': ['service', 'trained_on', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('service', 'model_version'), name='manifest_one_per_model_version')],
            },
        ),
        migrations.CreateModel(
            name='TrainingManifestEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('declared_licence', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rights.licence')),
                ('manifest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='generation_audit.trainingmanifest')),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.recording')),
                ('work', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.work')),
            ],
            options={
                'ordering': ['manifest', 'pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('recording__isnull', False), ('work__isnull', True)), models.Q(('recording__isnull', True), ('work__isnull', False)), _connector='OR'), name='manifest_entry_names_recording_or_work')],
            },
        ),
        migrations.CreateModel(
            name='OutputAttribution',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('share', models.DecimalField(decimal_places=4, max_digits=7, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))])),
                ('similarity', models.FloatField()),
                ('output', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attributions', to='generation_audit.generatedoutput')),
                ('recording', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ai_attributions', to='catalog.recording')),
            ],
            options={
                'ordering': ['output', '-share'],
                'constraints': [models.UniqueConstraint(fields=('output', 'recording'), name='attribution_once_per_recording')],
            },
        ),
    ]
