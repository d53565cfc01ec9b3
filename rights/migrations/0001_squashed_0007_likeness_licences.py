# The schema of migrations 0001_initial to 0007_likeness_licences in one step, for new databases: made by
# makemigrations from the models, with each constraint and index folded into its CreateModel
# (migrate on a new database took 5.7 s, most of it re-rendering models after every AddField and
# AddConstraint). Databases that applied the old migrations keep them; Django records this one
# as applied there.

import datetime
import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


def create_audit_head(apps, schema_editor):
    """The audit chain's head row exists from the start, so the first appends never race to create it."""
    apps.get_model("rights", "AuditChainHead").objects.get_or_create(pk=1)


class Migration(migrations.Migration):

    replaces = [
        ('rights', '0001_initial'),
        ('rights', '0002_rights_engine'),
        ('rights', '0003_usage_line_recording_index'),
        ('rights', '0004_platform_party'),
        ('rights', '0005_access'),
        ('rights', '0006_melody_claims'),
        ('rights', '0007_likeness_licences'),
    ]

    initial = True

    dependencies = [
        ('auth', '__first__'),
        ('catalog', '0001_squashed_0004_artist_ai_consent'),
        ('fingerprint', '0001_squashed_0005_artist_matches'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField(default=0)),
                ('hash', models.CharField(default='0000000000000000000000000000000000000000000000000000000000000000', max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name='AuditCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('checked_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('events', models.PositiveBigIntegerField(help_text='Events checked.')),
                ('ok', models.BooleanField()),
                ('problems', models.JSONField(blank=True, default=list, help_text='The first problems found, as sentences.')),
                ('checked_by', models.CharField(default='system', max_length=150)),
            ],
            options={
                'ordering': ['-checked_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField(help_text='1, 2, 3... without gaps.', unique=True)),
                ('at', models.DateTimeField()),
                ('actor_id', models.BigIntegerField(blank=True, null=True)),
                ('actor_name', models.CharField(default='system', max_length=150)),
                ('entity', models.CharField(db_index=True, help_text='Model, e.g. rights.ownership.', max_length=40)),
                ('entity_id', models.CharField(db_index=True, max_length=40)),
                ('verb', models.CharField(max_length=20)),
                ('data', models.JSONField(default=dict)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64)),
            ],
            options={
                'ordering': ['seq'],
            },
        ),
        migrations.CreateModel(
            name='Claim',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('match_type', models.CharField(choices=[('recording', 'Recording'), ('melody', 'Melody (composition performed)')], default='recording', max_length=16)),
                ('action', models.CharField(choices=[('monetize', 'Monetize'), ('track', 'Track'), ('block', 'Block')], max_length=16)),
                ('territory_actions', models.JSONField(blank=True, default=dict)),
                ('resolution', models.JSONField(blank=True, default=dict)),
                ('status', models.CharField(choices=[('potential', 'Potential (needs review)'), ('active', 'Active'), ('released', 'Released'), ('disputed', 'Disputed'), ('appealed', 'Appealed'), ('takedown', 'Taken down')], db_index=True, max_length=16)),
                ('review_reasons', models.JSONField(blank=True, default=list)),
                ('deadline', models.DateTimeField(blank=True, db_index=True, help_text='When the running timer (review, dispute, appeal) runs out.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('label', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='catalog.label')),
                ('match', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claim', to='fingerprint.match')),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='catalog.recording')),
                ('work', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='catalog.work')),
                ('work_match', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claim', to='fingerprint.workmatch')),
            ],
            options={
                'ordering': ['-created_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('match__isnull', False), ('work_match__isnull', True)), models.Q(('match__isnull', True), ('work_match__isnull', False)), _connector='OR'), name='claim_one_source')],
            },
        ),
        migrations.CreateModel(
            name='ClaimEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True)),
                ('from_status', models.CharField(blank=True, help_text='Empty when the claim was created.', max_length=16)),
                ('to_status', models.CharField(max_length=16)),
                ('reason', models.TextField(blank=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claim_events', to=settings.AUTH_USER_MODEL)),
                ('claim', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='rights.claim')),
            ],
            options={
                'ordering': ['claim', 'at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='Ownership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('right', models.CharField(choices=[('master', 'Master (sound recording)'), ('mechanical', 'Mechanical'), ('performance', 'Performance'), ('sync', 'Synchronisation')], max_length=16)),
                ('territories', models.JSONField(default=list, help_text='Alpha-2 codes, or ["WORLD"].')),
                ('share', models.DecimalField(decimal_places=4, help_text='Percent, e.g. 50.0000.', max_digits=7, validators=[django.core.validators.MinValueValidator(Decimal('0.0001')), django.core.validators.MaxValueValidator(Decimal('100'))])),
                ('start_date', models.DateField(default=datetime.date(1900, 1, 1))),
                ('end_date', models.DateField(blank=True, help_text='Inclusive; empty: no end.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ownerships', to='catalog.recording')),
                ('work', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ownerships', to='catalog.work')),
            ],
            options={
                'ordering': ['pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('recording__isnull', False), ('right', 'master'), ('work__isnull', True)), models.Q(('recording__isnull', True), ('work__isnull', False), ('right__in', ['mechanical', 'performance', 'sync'])), _connector='OR'), name='ownership_master_on_recording_publishing_on_work'), models.CheckConstraint(condition=models.Q(('end_date__isnull', True), ('end_date__gte', models.F('start_date')), _connector='OR'), name='ownership_ends_after_it_starts')],
            },
        ),
        migrations.CreateModel(
            name='OwnershipConflict',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('right', models.CharField(choices=[('master', 'Master (sound recording)'), ('mechanical', 'Mechanical'), ('performance', 'Performance'), ('sync', 'Synchronisation')], max_length=16)),
                ('territories', models.JSONField(default=list, help_text='The concrete alpha-2 codes in conflict.')),
                ('start_date', models.DateField()),
                ('end_date', models.DateField(blank=True, null=True)),
                ('total_share', models.DecimalField(decimal_places=4, help_text='Percent asserted in all.', max_digits=9)),
                ('conflicted_share', models.DecimalField(decimal_places=4, help_text='Percent of income held until the conflict is resolved.', max_digits=7)),
                ('signature', models.CharField(db_index=True, help_text='Asset, right, ownerships and dates.', max_length=200)),
                ('status', models.CharField(choices=[('open', 'Open'), ('resolved', 'Resolved')], db_index=True, default='open', max_length=16)),
                ('detected_at', models.DateTimeField()),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolution', models.TextField(blank=True)),
                ('ownerships', models.ManyToManyField(related_name='conflicts', to='rights.ownership')),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ownership_conflicts', to='catalog.recording')),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('work', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ownership_conflicts', to='catalog.work')),
            ],
            options={
                'ordering': ['status', '-detected_at', 'pk'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('signature',), name='ownership_conflict_one_open_per_signature')],
            },
        ),
        migrations.CreateModel(
            name='Policy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('action', models.CharField(choices=[('monetize', 'Monetize'), ('track', 'Track'), ('block', 'Block')], default='monetize', help_text='Used when the policy has no rules.', max_length=16)),
                ('min_confidence', models.FloatField(default=0.9, help_text='Below this confidence a claim waits for review.')),
                ('min_match_s', models.FloatField(default=5.0, help_text='Matches shorter than this (s) wait for review.')),
                ('always_review', models.BooleanField(default=True, help_text='Every claim waits for a person.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('label', models.ForeignKey(blank=True, help_text='Empty: the default policy for labels without their own.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='policies', to='catalog.label')),
            ],
            options={
                'verbose_name_plural': 'policies',
                'constraints': [models.UniqueConstraint(fields=('label',), name='policy_one_per_label')],
            },
        ),
        migrations.AddField(
            model_name='ownership',
            name='policy',
            field=models.ForeignKey(blank=True, help_text="The match policy for this asset; empty: the owner's policy.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ownerships', to='rights.policy'),
        ),
        migrations.AddField(
            model_name='claim',
            name='policy',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='rights.policy'),
        ),
        migrations.CreateModel(
            name='PolicyRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField(help_text='Rules are tried in this order; the first that applies wins.')),
                ('action', models.CharField(choices=[('monetize', 'Monetize'), ('track', 'Track'), ('block', 'Block')], max_length=16)),
                ('territories', models.JSONField(blank=True, default=list, help_text='Applies only here (empty: everywhere).')),
                ('excluded_territories', models.JSONField(blank=True, default=list, help_text='Never applies here.')),
                ('min_match_s', models.FloatField(blank=True, null=True)),
                ('max_match_s', models.FloatField(blank=True, null=True)),
                ('min_match_percent', models.FloatField(blank=True, null=True)),
                ('max_match_percent', models.FloatField(blank=True, null=True)),
                ('min_reference_s', models.FloatField(blank=True, null=True)),
                ('max_reference_s', models.FloatField(blank=True, null=True)),
                ('min_reference_percent', models.FloatField(blank=True, null=True)),
                ('max_reference_percent', models.FloatField(blank=True, null=True)),
                ('match_types', models.JSONField(blank=True, default=list, help_text='Applies only to these (empty: any).')),
                ('review', models.BooleanField(default=False, help_text='Claims made under this rule wait for a person.')),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rules', to='rights.policy')),
            ],
            options={
                'ordering': ['policy', 'position', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('policy', 'position'), name='policy_rule_unique_position')],
            },
        ),
        migrations.CreateModel(
            name='ReferenceOverlap',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('overlap_s', models.FloatField(help_text='Seconds of the upload that matched both references.')),
                ('status', models.CharField(choices=[('open', 'Open'), ('resolved', 'Resolved')], db_index=True, default='open', max_length=16)),
                ('detected_at', models.DateTimeField(auto_now_add=True)),
                ('deadline', models.DateTimeField(blank=True, null=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolution', models.TextField(blank=True)),
                ('first', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='overlaps_as_first', to='catalog.recording')),
                ('scan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reference_overlaps', to='fingerprint.scan')),
                ('second', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='overlaps_as_second', to='catalog.recording')),
            ],
            options={
                'ordering': ['status', '-detected_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('first', 'second'), name='reference_overlap_one_open_per_pair'), models.CheckConstraint(condition=models.Q(('first__lt', models.F('second'))), name='reference_overlap_ordered')],
            },
        ),
        migrations.CreateModel(
            name='RightsHolder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('kind', models.CharField(choices=[('label', 'Label'), ('publisher', 'Publisher'), ('artist', 'Artist'), ('writer', 'Writer'), ('platform', 'Platform'), ('channel', 'Channel'), ('service', 'AI service'), ('other', 'Other')], default='other', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('accounts', models.ManyToManyField(blank=True, related_name='rights_holders', to=settings.AUTH_USER_MODEL)),
                ('artist', models.ForeignKey(blank=True, help_text='The catalogue artist or writer this party is.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='rights_holders', to='catalog.artist')),
                ('label', models.ForeignKey(blank=True, help_text='The catalogue label this party is (for labels).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='rights_holders', to='catalog.label')),
                ('platform', models.OneToOneField(blank=True, help_text="The API platform account this party is (for platforms): its uploads' claims name it.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='rights_holder', to='fingerprint.platform')),
                ('policy', models.ForeignKey(blank=True, help_text="The match policy for this party's ownerships that name none.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='default_for', to='rights.policy')),
            ],
            options={
                'ordering': ['name', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='policy',
            name='owner',
            field=models.ForeignKey(blank=True, help_text='The owner whose policy this is (label policies name the label instead).', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='policies', to='rights.rightsholder'),
        ),
        migrations.AddField(
            model_name='ownership',
            name='owner',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ownerships', to='rights.rightsholder'),
        ),
        migrations.CreateModel(
            name='Licence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(help_text='The contract reference.', max_length=100, unique=True)),
                ('uses', models.JSONField(default=list, help_text='Uses granted: streaming, download, sync, sampling, broadcast, ugc, ai_training, ai_generation, recommendation, ai_likeness_voice, ai_likeness_style, ai_likeness_name')),
                ('territories', models.JSONField(default=list, help_text='Alpha-2 codes, or ["WORLD"].')),
                ('excluded_territories', models.JSONField(blank=True, default=list)),
                ('start_date', models.DateField()),
                ('end_date', models.DateField(blank=True, help_text='Inclusive; empty: no end.', null=True)),
                ('exclusive', models.BooleanField(default=False)),
                ('fee_model', models.CharField(choices=[('flat', 'Flat fee'), ('revenue_share', 'Revenue share'), ('per_use', 'Per-use rate'), ('minimum_guarantee', 'Revenue share with a minimum guarantee')], default='revenue_share', max_length=20)),
                ('currency', models.CharField(default='EUR', max_length=3)),
                ('flat_fee', models.DecimalField(blank=True, decimal_places=4, max_digits=16, null=True)),
                ('revenue_share', models.DecimalField(blank=True, decimal_places=4, help_text="Percent of the licensee's reported revenue due to the licensor.", max_digits=7, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))])),
                ('per_use_rate', models.DecimalField(blank=True, decimal_places=6, max_digits=16, null=True)),
                ('minimum_guarantee', models.DecimalField(blank=True, decimal_places=4, help_text='Per calendar month.', max_digits=16, null=True)),
                ('cap_uses', models.PositiveBigIntegerField(blank=True, help_text='Uses allowed per calendar month.', null=True)),
                ('cap_amount', models.DecimalField(blank=True, decimal_places=4, help_text='Most the licensee pays per month.', max_digits=16, null=True)),
                ('revoked_at', models.DateField(blank=True, help_text='Terminated early: not valid from this day.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('artists', models.ManyToManyField(blank=True, help_text='Artists whose likeness (voice, style, name) the AI-likeness uses cover, each only while the artist consents to that use.', related_name='likeness_licences', to='catalog.artist')),
                ('catalogue_labels', models.ManyToManyField(blank=True, help_text='Catalogue slice: every recording of these labels.', related_name='licences', to='catalog.label')),
                ('catalogue_releases', models.ManyToManyField(blank=True, help_text='Catalogue slice: every recording on these releases.', related_name='licences', to='catalog.release')),
                ('recordings', models.ManyToManyField(blank=True, related_name='licences', to='catalog.recording')),
                ('works', models.ManyToManyField(blank=True, related_name='licences', to='catalog.work')),
                ('licensee', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='licences_held', to='rights.rightsholder')),
                ('licensor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='licences_granted', to='rights.rightsholder')),
            ],
            options={
                'ordering': ['reference'],
            },
        ),
        migrations.CreateModel(
            name='Dispute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('dispute', 'Dispute'), ('appeal', 'Appeal')], default='dispute', max_length=16)),
                ('reason', models.CharField(choices=[('misidentified', 'Misidentified: the upload does not contain this recording'), ('licensed', 'Licensed: the uploader holds a licence'), ('original', 'Original content of the uploader'), ('public_domain', 'Public domain'), ('fair_use', 'Fair use / fair dealing')], max_length=16)),
                ('evidence', models.TextField(help_text='What the uploader offers: licence numbers, links, an explanation.')),
                ('opened_at', models.DateTimeField()),
                ('deadline', models.DateTimeField()),
                ('outcome', models.CharField(choices=[('pending', 'Waiting for the claimant'), ('upheld', 'Upheld by the claimant (claim reinstated)'), ('released', 'Claim released by the claimant'), ('expired', 'No answer in time (claim released)'), ('takedown', 'Appeal rejected with a takedown')], db_index=True, default='pending', max_length=16)),
                ('answered_at', models.DateTimeField(blank=True, null=True)),
                ('answer', models.TextField(blank=True)),
                ('answered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('claim', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='disputes', to='rights.claim')),
                ('opened_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('claimant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='disputes_received', to='rights.rightsholder')),
                ('disputant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='disputes_opened', to='rights.rightsholder')),
            ],
            options={
                'ordering': ['-opened_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='claim',
            name='claimant',
            field=models.ForeignKey(blank=True, help_text='The owner who answers disputes (the largest owner of the decisive right).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claims_made', to='rights.rightsholder'),
        ),
        migrations.AddField(
            model_name='claim',
            name='uploader',
            field=models.ForeignKey(blank=True, help_text='The party whose account submitted the upload.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claims_received', to='rights.rightsholder'),
        ),
        migrations.CreateModel(
            name='RoyaltyRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.DateField(help_text='First day of the month.')),
                ('pool_model', models.CharField(choices=[('revenue', 'Reported revenue per line'), ('pro_rata', 'Pro-rata pool (by plays)'), ('user_centric', "User-centric pool (each user's payment over their plays)")], default='revenue', max_length=16)),
                ('status', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('superseded', 'Superseded by a later run of the period')], db_index=True, default='running', max_length=16)),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('usage_lines', models.PositiveBigIntegerField(default=0)),
                ('statement_lines', models.PositiveBigIntegerField(default=0)),
                ('totals', models.JSONField(blank=True, default=dict, help_text='Per currency: paid, held, returned, minor units.')),
                ('input_digest', models.CharField(blank=True, max_length=64)),
                ('result_digest', models.CharField(blank=True, max_length=64)),
                ('started_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-period', '-started_at'],
            },
        ),
        migrations.CreateModel(
            name='Split',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stream', models.CharField(choices=[('master', 'Master (recording)'), ('publishing', 'Publishing (work)')], max_length=16)),
                ('territories', models.JSONField(blank=True, default=list, help_text='Empty: everywhere.')),
                ('start_date', models.DateField(blank=True, null=True)),
                ('end_date', models.DateField(blank=True, help_text='Inclusive.', null=True)),
                ('note', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='splits', to='catalog.recording')),
                ('work', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='splits', to='catalog.work')),
            ],
            options={
                'ordering': ['pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('recording__isnull', False), ('stream', 'master'), ('work__isnull', True)), models.Q(('recording__isnull', True), ('stream', 'publishing'), ('work__isnull', False)), _connector='OR'), name='split_master_on_recording_publishing_on_work')],
            },
        ),
        migrations.CreateModel(
            name='SplitShare',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('share', models.DecimalField(decimal_places=4, max_digits=7, validators=[django.core.validators.MinValueValidator(Decimal('0.0001')), django.core.validators.MaxValueValidator(Decimal('100'))])),
                ('role', models.CharField(blank=True, help_text='Artist, producer, label, writer, publisher...', max_length=100)),
                ('party', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='split_shares', to='rights.rightsholder')),
                ('split', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shares', to='rights.split')),
            ],
            options={
                'ordering': ['split', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('split', 'party'), name='split_share_one_per_party')],
            },
        ),
        migrations.CreateModel(
            name='Statement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('paid_minor', models.BigIntegerField(default=0)),
                ('line_count', models.PositiveBigIntegerField(default=0)),
                ('party', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='statements', to='rights.rightsholder')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='statements', to='rights.royaltyrun')),
            ],
            options={
                'ordering': ['run', 'party__name', 'currency'],
                'constraints': [models.UniqueConstraint(fields=('run', 'party', 'currency'), name='statement_one_per_party_currency')],
            },
        ),
        migrations.CreateModel(
            name='UnclaimedMatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('why', models.CharField(choices=[('licensed', 'The uploader holds a licence that covers the use'), ('no_rule', 'No policy rule of any owner applies')], max_length=16)),
                ('detail', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('licence', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rights.licence')),
                ('match', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='unclaimed', to='fingerprint.match')),
                ('work_match', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='unclaimed', to='fingerprint.workmatch')),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('match__isnull', False), ('work_match__isnull', True)), models.Q(('match__isnull', True), ('work_match__isnull', False)), _connector='OR'), name='unclaimed_match_one_source')],
            },
        ),
        migrations.CreateModel(
            name='UsageLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('row_number', models.PositiveIntegerField(help_text='Line of the source file (1-based).')),
                ('stream', models.CharField(choices=[('master', 'Master (recording)'), ('publishing', 'Publishing (work)')], default='master', max_length=16)),
                ('territory', models.CharField(max_length=2)),
                ('use', models.CharField(default='streaming', max_length=20)),
                ('quantity', models.PositiveBigIntegerField(default=0)),
                ('amount', models.DecimalField(decimal_places=10, default=Decimal('0'), max_digits=24)),
                ('user_ref', models.CharField(blank=True, help_text='The listener (user-centric pools).', max_length=100)),
                ('claim', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_lines', to='rights.claim')),
                ('licence', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_lines', to='rights.licence')),
                ('recording', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_lines', to='catalog.recording')),
                ('work', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_lines', to='catalog.work')),
            ],
            options={
                'ordering': ['report', 'row_number'],
                'indexes': [models.Index(condition=models.Q(('claim__isnull', False)), fields=['claim'], name='usage_line_claim')],
            },
        ),
        migrations.CreateModel(
            name='StatementLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('paid', 'Paid'), ('held', 'Held'), ('returned', 'Returned (not ours: claim released)'), ('unallocated', 'Unallocated (no split, no owner)')], max_length=12)),
                ('hold', models.CharField(blank=True, choices=[('', '-'), ('escrow', 'Escrow: claim disputed'), ('review', 'Claim waiting for review'), ('conflict', 'Ownership conflict')], max_length=12)),
                ('source', models.CharField(choices=[('usage', 'Usage line'), ('escrow_release', 'Escrow paid to the winner'), ('conflict_release', 'Held money released after a conflict'), ('flat_fee', 'Licence flat fee'), ('minimum_guarantee', 'Minimum guarantee top-up')], default='usage', max_length=20)),
                ('currency', models.CharField(max_length=3)),
                ('amount_minor', models.BigIntegerField(help_text='The whole amount of this line, minor units.')),
                ('parties', models.JSONField(blank=True, default=list, help_text='Party ids paid (null: unallocated).')),
                ('amounts', models.JSONField(blank=True, default=list, help_text='Minor units per party, same order.')),
                ('shares', models.JSONField(blank=True, default=list, help_text='Split share (%) per party, same order.')),
                ('claim', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rights.claim')),
                ('conflict', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rights.ownershipconflict')),
                ('dispute', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rights.dispute')),
                ('licence', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rights.licence')),
                ('recording', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.recording')),
                ('run', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='rights.royaltyrun')),
                ('split', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rights.split')),
                ('work', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.work')),
                ('usage_line', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rights.usageline')),
            ],
            options={
                'ordering': ['run', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='UsageReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source_format', models.CharField(choices=[('csv', 'CSV'), ('dsr', 'DDEX DSR flat file')], max_length=8)),
                ('profile', models.CharField(blank=True, help_text='DSR profile, e.g. BasicAudio or UGC.', max_length=40)),
                ('file_name', models.CharField(blank=True, max_length=300)),
                ('sha256', models.CharField(help_text='The same file is never imported twice.', max_length=64, unique=True)),
                ('message_id', models.CharField(blank=True, max_length=100)),
                ('period_start', models.DateField(db_index=True)),
                ('period_end', models.DateField()),
                ('currency', models.CharField(max_length=3)),
                ('pool_amount', models.DecimalField(blank=True, decimal_places=6, max_digits=20, null=True)),
                ('line_count', models.PositiveIntegerField(default=0)),
                ('total_amount', models.DecimalField(decimal_places=10, default=Decimal('0'), max_digits=24)),
                ('total_quantity', models.PositiveBigIntegerField(default=0)),
                ('imported_at', models.DateTimeField(auto_now_add=True)),
                ('imported_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('platform', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_reports', to='rights.rightsholder')),
            ],
            options={
                'ordering': ['-period_start', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='usageline',
            name='report',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='rights.usagereport'),
        ),
        migrations.CreateModel(
            name='AuditorGrant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('granted_at', models.DateTimeField(auto_now_add=True)),
                ('expires_on', models.DateField(blank=True, help_text='Last day of access; empty: until revoked.', null=True)),
                ('granted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('label', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auditor_grants', to='catalog.label')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auditor_grants', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['label__name', 'user__username'],
                'constraints': [models.UniqueConstraint(fields=('label', 'user'), name='auditor_grant_once_per_label')],
            },
        ),
        migrations.AddConstraint(
            model_name='policy',
            constraint=models.UniqueConstraint(condition=models.Q(('label__isnull', True), ('owner__isnull', True)), fields=('label',), name='policy_one_default'),
        ),
        migrations.AddIndex(
            model_name='usageline',
            index=models.Index(fields=['report', 'recording', 'id'], name='usage_line_report_rec'),
        ),
        migrations.RunPython(create_audit_head, migrations.RunPython.noop),
    ]
