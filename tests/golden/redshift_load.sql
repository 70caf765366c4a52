CREATE TABLE IF NOT EXISTS "tweet" (
  "query" VARCHAR(65535) NOT NULL,
  "tweet_id" VARCHAR(65535) NOT NULL,
  "created_at" TIMESTAMPTZ NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "text" VARCHAR(65535),
  "referenced_tweets" VARCHAR(65535),
  "user_id" VARCHAR(65535),
  "username" VARCHAR(65535),
  "name" VARCHAR(65535),
  "verified" BOOLEAN,
  "location" VARCHAR(65535),
  "lang" VARCHAR(65535),
  "conversation_id" VARCHAR(65535),
  "label" VARCHAR(65535),
  "positive" DOUBLE PRECISION,
  "negative" DOUBLE PRECISION,
  "neutral" DOUBLE PRECISION,
  "mixed" DOUBLE PRECISION,
  "analyzer" VARCHAR(65535),
  "post_type" VARCHAR(65535),
  "repost_of" VARCHAR(65535),
  "like_count" BIGINT,
  "repost_count" BIGINT,
  "reply_count" BIGINT,
  "quote_count" BIGINT,
  "engagement" BIGINT NOT NULL,
  "terms" VARCHAR(65535),
  PRIMARY KEY ("query", "tweet_id")
);
CREATE TABLE IF NOT EXISTS "sentiment" (
  "query" VARCHAR(65535) NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "count_tweets" BIGINT NOT NULL,
  "avg_positive" DOUBLE PRECISION,
  "avg_negative" DOUBLE PRECISION,
  "avg_neutral" DOUBLE PRECISION,
  "avg_mixed" DOUBLE PRECISION,
  "perc_tweet_positive" DOUBLE PRECISION NOT NULL,
  "perc_tweet_negative" DOUBLE PRECISION NOT NULL,
  "perc_tweet_neutral" DOUBLE PRECISION NOT NULL,
  "perc_tweet_mixed" DOUBLE PRECISION NOT NULL,
  "volume" BIGINT,
  "count_reposts" BIGINT NOT NULL,
  "count_opinions" BIGINT NOT NULL,
  "perc_opinion_positive" DOUBLE PRECISION NOT NULL,
  "perc_opinion_negative" DOUBLE PRECISION NOT NULL,
  "perc_opinion_neutral" DOUBLE PRECISION NOT NULL,
  "perc_opinion_mixed" DOUBLE PRECISION NOT NULL,
  "engagement" BIGINT NOT NULL,
  "weighted_net" DOUBLE PRECISION,
  PRIMARY KEY ("query", "time_window")
);
CREATE TABLE IF NOT EXISTS "tweet_score" (
  "query" VARCHAR(65535) NOT NULL,
  "tweet_id" VARCHAR(65535) NOT NULL,
  "analyzer" VARCHAR(65535) NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "label" VARCHAR(65535) NOT NULL,
  "positive" DOUBLE PRECISION,
  "negative" DOUBLE PRECISION,
  "neutral" DOUBLE PRECISION,
  "mixed" DOUBLE PRECISION,
  PRIMARY KEY ("query", "tweet_id", "analyzer")
);
CREATE TABLE IF NOT EXISTS "sentiment_by_analyzer" (
  "query" VARCHAR(65535) NOT NULL,
  "analyzer" VARCHAR(65535) NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "count_tweets" BIGINT NOT NULL,
  "avg_positive" DOUBLE PRECISION,
  "avg_negative" DOUBLE PRECISION,
  "avg_neutral" DOUBLE PRECISION,
  "avg_mixed" DOUBLE PRECISION,
  "perc_tweet_positive" DOUBLE PRECISION NOT NULL,
  "perc_tweet_negative" DOUBLE PRECISION NOT NULL,
  "perc_tweet_neutral" DOUBLE PRECISION NOT NULL,
  "perc_tweet_mixed" DOUBLE PRECISION NOT NULL,
  PRIMARY KEY ("query", "analyzer", "time_window")
);
CREATE TABLE IF NOT EXISTS "analyzer_agreement" (
  "query" VARCHAR(65535) NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "analyzer_a" VARCHAR(65535) NOT NULL,
  "analyzer_b" VARCHAR(65535) NOT NULL,
  "label_a" VARCHAR(65535) NOT NULL,
  "label_b" VARCHAR(65535) NOT NULL,
  "count" BIGINT NOT NULL,
  PRIMARY KEY ("query", "time_window", "analyzer_a", "analyzer_b", "label_a", "label_b")
);
CREATE TABLE IF NOT EXISTS "driver" (
  "query" VARCHAR(65535) NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "kind" VARCHAR(65535) NOT NULL,
  "term" VARCHAR(65535) NOT NULL,
  "label" VARCHAR(65535) NOT NULL,
  "count" BIGINT NOT NULL,
  PRIMARY KEY ("query", "time_window", "kind", "term", "label")
);
CREATE TABLE IF NOT EXISTS "sentiment_spike" (
  "query" VARCHAR(65535) NOT NULL,
  "time_window" TIMESTAMPTZ NOT NULL,
  "metric" VARCHAR(65535) NOT NULL,
  "value" DOUBLE PRECISION NOT NULL,
  "baseline" DOUBLE PRECISION NOT NULL,
  "score" DOUBLE PRECISION NOT NULL,
  "direction" VARCHAR(65535) NOT NULL,
  PRIMARY KEY ("query", "time_window", "metric")
);
CREATE TABLE IF NOT EXISTS "tweetsense_schema" (
  "version" BIGINT NOT NULL,
  "applied_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("version")
);
INSERT INTO "tweetsense_schema" ("version", "applied_at") SELECT %s, %s FROM (SELECT COALESCE(MAX("version"), 0) AS v FROM "tweetsense_schema") AS c WHERE c.v < 2;  -- params: 2, datetime.datetime(2024, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
DROP TABLE IF EXISTS "tweetsense_stage_tweet";
CREATE TEMP TABLE "tweetsense_stage_tweet" (LIKE "tweet");
COPY "tweetsense_stage_tweet" FROM 's3://ts-bucket/tweetsense/loads/ev-1/tweet.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "tweet" USING "tweetsense_stage_tweet" WHERE "tweet"."query" = "tweetsense_stage_tweet"."query" AND "tweet"."tweet_id" = "tweetsense_stage_tweet"."tweet_id";
INSERT INTO "tweet" ("query", "tweet_id", "created_at", "time_window", "text", "referenced_tweets", "user_id", "username", "name", "verified", "location", "lang", "conversation_id", "label", "positive", "negative", "neutral", "mixed", "analyzer", "post_type", "repost_of", "like_count", "repost_count", "reply_count", "quote_count", "engagement", "terms") SELECT "query", "tweet_id", "created_at", "time_window", "text", "referenced_tweets", "user_id", "username", "name", "verified", "location", "lang", "conversation_id", "label", "positive", "negative", "neutral", "mixed", "analyzer", "post_type", "repost_of", "like_count", "repost_count", "reply_count", "quote_count", "engagement", "terms" FROM "tweetsense_stage_tweet";
DROP TABLE IF EXISTS "tweetsense_stage_sentiment";
CREATE TEMP TABLE "tweetsense_stage_sentiment" (LIKE "sentiment");
COPY "tweetsense_stage_sentiment" FROM 's3://ts-bucket/tweetsense/loads/ev-1/sentiment.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "sentiment" USING "tweetsense_stage_sentiment" WHERE "sentiment"."query" = "tweetsense_stage_sentiment"."query" AND "sentiment"."time_window" = "tweetsense_stage_sentiment"."time_window";
INSERT INTO "sentiment" ("query", "time_window", "count_tweets", "avg_positive", "avg_negative", "avg_neutral", "avg_mixed", "perc_tweet_positive", "perc_tweet_negative", "perc_tweet_neutral", "perc_tweet_mixed", "volume", "count_reposts", "count_opinions", "perc_opinion_positive", "perc_opinion_negative", "perc_opinion_neutral", "perc_opinion_mixed", "engagement", "weighted_net") SELECT "query", "time_window", "count_tweets", "avg_positive", "avg_negative", "avg_neutral", "avg_mixed", "perc_tweet_positive", "perc_tweet_negative", "perc_tweet_neutral", "perc_tweet_mixed", "volume", "count_reposts", "count_opinions", "perc_opinion_positive", "perc_opinion_negative", "perc_opinion_neutral", "perc_opinion_mixed", "engagement", "weighted_net" FROM "tweetsense_stage_sentiment";
DROP TABLE IF EXISTS "tweetsense_stage_tweet_score";
CREATE TEMP TABLE "tweetsense_stage_tweet_score" (LIKE "tweet_score");
COPY "tweetsense_stage_tweet_score" FROM 's3://ts-bucket/tweetsense/loads/ev-1/tweet_score.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "tweet_score" USING "tweetsense_stage_tweet_score" WHERE "tweet_score"."query" = "tweetsense_stage_tweet_score"."query" AND "tweet_score"."tweet_id" = "tweetsense_stage_tweet_score"."tweet_id" AND "tweet_score"."analyzer" = "tweetsense_stage_tweet_score"."analyzer";
INSERT INTO "tweet_score" ("query", "tweet_id", "analyzer", "time_window", "label", "positive", "negative", "neutral", "mixed") SELECT "query", "tweet_id", "analyzer", "time_window", "label", "positive", "negative", "neutral", "mixed" FROM "tweetsense_stage_tweet_score";
DROP TABLE IF EXISTS "tweetsense_stage_sentiment_by_analyzer";
CREATE TEMP TABLE "tweetsense_stage_sentiment_by_analyzer" (LIKE "sentiment_by_analyzer");
COPY "tweetsense_stage_sentiment_by_analyzer" FROM 's3://ts-bucket/tweetsense/loads/ev-1/sentiment_by_analyzer.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "sentiment_by_analyzer" USING "tweetsense_stage_sentiment_by_analyzer" WHERE "sentiment_by_analyzer"."query" = "tweetsense_stage_sentiment_by_analyzer"."query" AND "sentiment_by_analyzer"."analyzer" = "tweetsense_stage_sentiment_by_analyzer"."analyzer" AND "sentiment_by_analyzer"."time_window" = "tweetsense_stage_sentiment_by_analyzer"."time_window";
INSERT INTO "sentiment_by_analyzer" ("query", "analyzer", "time_window", "count_tweets", "avg_positive", "avg_negative", "avg_neutral", "avg_mixed", "perc_tweet_positive", "perc_tweet_negative", "perc_tweet_neutral", "perc_tweet_mixed") SELECT "query", "analyzer", "time_window", "count_tweets", "avg_positive", "avg_negative", "avg_neutral", "avg_mixed", "perc_tweet_positive", "perc_tweet_negative", "perc_tweet_neutral", "perc_tweet_mixed" FROM "tweetsense_stage_sentiment_by_analyzer";
DROP TABLE IF EXISTS "tweetsense_stage_analyzer_agreement";
CREATE TEMP TABLE "tweetsense_stage_analyzer_agreement" (LIKE "analyzer_agreement");
COPY "tweetsense_stage_analyzer_agreement" FROM 's3://ts-bucket/tweetsense/loads/ev-1/analyzer_agreement.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "analyzer_agreement" USING "tweetsense_stage_sentiment" WHERE "analyzer_agreement"."query" = "tweetsense_stage_sentiment"."query" AND "analyzer_agreement"."time_window" = "tweetsense_stage_sentiment"."time_window";
INSERT INTO "analyzer_agreement" ("query", "time_window", "analyzer_a", "analyzer_b", "label_a", "label_b", "count") SELECT "query", "time_window", "analyzer_a", "analyzer_b", "label_a", "label_b", "count" FROM "tweetsense_stage_analyzer_agreement";
DROP TABLE IF EXISTS "tweetsense_stage_driver";
CREATE TEMP TABLE "tweetsense_stage_driver" (LIKE "driver");
COPY "tweetsense_stage_driver" FROM 's3://ts-bucket/tweetsense/loads/ev-1/driver.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "driver" USING "tweetsense_stage_sentiment" WHERE "driver"."query" = "tweetsense_stage_sentiment"."query" AND "driver"."time_window" = "tweetsense_stage_sentiment"."time_window";
INSERT INTO "driver" ("query", "time_window", "kind", "term", "label", "count") SELECT "query", "time_window", "kind", "term", "label", "count" FROM "tweetsense_stage_driver";
DROP TABLE IF EXISTS "tweetsense_stage_sentiment_spike";
CREATE TEMP TABLE "tweetsense_stage_sentiment_spike" (LIKE "sentiment_spike");
COPY "tweetsense_stage_sentiment_spike" FROM 's3://ts-bucket/tweetsense/loads/ev-1/sentiment_spike.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/tweetsense-copy' FORMAT AS PARQUET;  -- Redshift only
DELETE FROM "sentiment_spike" USING "tweetsense_stage_sentiment" WHERE "sentiment_spike"."query" = "tweetsense_stage_sentiment"."query" AND "sentiment_spike"."time_window" = "tweetsense_stage_sentiment"."time_window";
INSERT INTO "sentiment_spike" ("query", "time_window", "metric", "value", "baseline", "score", "direction") SELECT "query", "time_window", "metric", "value", "baseline", "score", "direction" FROM "tweetsense_stage_sentiment_spike";
DELETE FROM "tweet" USING "tweetsense_stage_sentiment" w WHERE "tweet"."query" = w."query" AND "tweet"."time_window" = w."time_window" AND NOT EXISTS (SELECT 1 FROM "tweetsense_stage_tweet" n WHERE n."query" = "tweet"."query" AND n."tweet_id" = "tweet"."tweet_id");
DELETE FROM "tweet_score" USING "tweetsense_stage_sentiment" w WHERE "tweet_score"."query" = w."query" AND "tweet_score"."time_window" = w."time_window" AND NOT EXISTS (SELECT 1 FROM "tweetsense_stage_tweet_score" n WHERE n."query" = "tweet_score"."query" AND n."tweet_id" = "tweet_score"."tweet_id" AND n."analyzer" = "tweet_score"."analyzer");
DROP TABLE "tweetsense_stage_tweet";
DROP TABLE "tweetsense_stage_sentiment";
DROP TABLE "tweetsense_stage_tweet_score";
DROP TABLE "tweetsense_stage_sentiment_by_analyzer";
DROP TABLE "tweetsense_stage_analyzer_agreement";
DROP TABLE "tweetsense_stage_driver";
DROP TABLE "tweetsense_stage_sentiment_spike";
SELECT count(*) FROM "tweet" WHERE "query" = %s;  -- params: 'ev'
SELECT count(*) FROM "sentiment" WHERE "query" = %s;  -- params: 'ev'
SELECT count(*) FROM "tweet_score" WHERE "query" = %s;  -- params: 'ev'
SELECT count(*) FROM "sentiment_by_analyzer" WHERE "query" = %s;  -- params: 'ev'
SELECT count(*) FROM "analyzer_agreement" WHERE "query" = %s;  -- params: 'ev'
SELECT count(*) FROM "driver" WHERE "query" = %s;  -- params: 'ev'
SELECT count(*) FROM "sentiment_spike" WHERE "query" = %s;  -- params: 'ev'
