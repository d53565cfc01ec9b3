# The schema of migrations 0001_initial to 0004_artist_ai_consent in one step, for new databases: made by
# makemigrations from the models, with each constraint and index folded into its CreateModel
# (migrate on a new database took 5.7 s, most of it re-rendering models after every AddField and
# AddConstraint). Databases that applied the old migrations keep them; Django records this one
# as applied there.

import catalog.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('catalog', '0001_initial'),
        ('catalog', '0002_generated_assets_and_training_opt_out'),
        ('catalog', '0003_work_renditions'),
        ('catalog', '0004_artist_ai_consent'),
    ]

    initial = True

    dependencies = [
        ('auth', '__first__'),
    ]

    operations = [
        migrations.CreateModel(
            name='Label',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Artist',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(db_index=True, max_length=200)),
                ('isni', models.CharField(blank=True, max_length=32, null=True, unique=True, validators=[catalog.models.validate_isni], verbose_name='ISNI')),
                ('ipi', models.CharField(blank=True, max_length=32, null=True, unique=True, validators=[catalog.models.validate_ipi], verbose_name='IPI name number')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('label', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='artists', to='catalog.label')),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Recording',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(db_index=True, max_length=300)),
                ('isrc', models.CharField(blank=True, max_length=32, null=True, unique=True, validators=[catalog.models.validate_isrc], verbose_name='ISRC')),
                ('external_id', models.CharField(blank=True, max_length=200, null=True, unique=True)),
                ('duration_s', models.FloatField(blank=True, null=True)),
                ('ai_training_opt_out', models.BooleanField(default=False, help_text='No AI model may be trained on it, licence or not.', verbose_name='opted out of AI training')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('artists', models.ManyToManyField(blank=True, related_name='recordings', to='catalog.artist')),
                ('label', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='recordings', to='catalog.label')),
            ],
            options={
                'ordering': ['title'],
            },
        ),
        migrations.CreateModel(
            name='Release',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(db_index=True, max_length=300)),
                ('upc', models.CharField(blank=True, max_length=32, null=True, unique=True, validators=[catalog.models.validate_upc], verbose_name='UPC/EAN')),
                ('release_date', models.DateField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('label', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='releases', to='catalog.label')),
                ('recordings', models.ManyToManyField(blank=True, related_name='releases', to='catalog.recording')),
            ],
            options={
                'ordering': ['title'],
            },
        ),
        migrations.CreateModel(
            name='Work',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(db_index=True, max_length=300)),
                ('iswc', models.CharField(blank=True, max_length=32, null=True, unique=True, validators=[catalog.models.validate_iswc], verbose_name='ISWC')),
                ('ai_training_opt_out', models.BooleanField(default=False, help_text='No AI model may be trained on it, licence or not.', verbose_name='opted out of AI training')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('writers', models.ManyToManyField(blank=True, related_name='works', to='catalog.artist')),
            ],
            options={
                'ordering': ['title'],
            },
        ),
        migrations.AddField(
            model_name='recording',
            name='works',
            field=models.ManyToManyField(blank=True, related_name='recordings', to='catalog.work'),
        ),
        migrations.CreateModel(
            name='ArtistAIConsent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('use', models.CharField(choices=[('voice', "Voice: singing or speech made with a model of the artist's voice"), ('style', 'Style: music made to sound like the artist'), ('name', 'Name and image: the artist named or shown in prompts, titles or marketing')], max_length=16)),
                ('opted_in', models.BooleanField(default=False)),
                ('note', models.CharField(blank=True, help_text="The artist's conditions, in their words.", max_length=300)),
                ('changed_at', models.DateTimeField(auto_now=True)),
                ('artist', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ai_consents', to='catalog.artist')),
                ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'artist AI-likeness consent',
                'ordering': ['artist', 'use'],
                'constraints': [models.UniqueConstraint(fields=('artist', 'use'), name='one_ai_consent_per_artist_and_use')],
            },
        ),
        migrations.CreateModel(
            name='AudioAsset',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('reference', 'Reference'), ('rendition', 'Rendition of a work'), ('upload', 'Upload'), ('generated', 'Generated by an AI service')], max_length=16)),
                ('file', models.FileField(max_length=300, upload_to=catalog.models.audio_upload_path)),
                ('original_name', models.CharField(blank=True, max_length=300)),
                ('sha256', models.CharField(db_index=True, max_length=64)),
                ('size_bytes', models.BigIntegerField()),
                ('format', models.CharField(help_text='Container sniffed from the content, not the file name.', max_length=16)),
                ('codec', models.CharField(blank=True, max_length=32)),
                ('sample_rate', models.PositiveIntegerField(help_text='Hz, as stored in the file.')),
                ('channels', models.PositiveSmallIntegerField()),
                ('duration_s', models.FloatField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reference_assets', to='catalog.recording')),
                ('work', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='renditions', to='catalog.work')),
            ],
            options={
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(fields=('kind', 'sha256'), name='audio_asset_unique_content_per_kind'), models.CheckConstraint(condition=models.Q(('kind__in', ['upload', 'generated']), models.Q(('kind', 'reference'), ('recording__isnull', False)), models.Q(('kind', 'rendition'), ('work__isnull', False)), _connector='OR'), name='audio_asset_reference_has_recording_rendition_has_work')],
            },
        ),
    ]
