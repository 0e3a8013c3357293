package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RedactionTest {
    /** Credential settings of the S3A, ABFS/WASB, GCS and Spark connectors, and names users invent. */
    static final List<String> SECRET_KEYS = List.of(
            "fs.azure.account.key.myaccount.blob.core.windows.net",
            "fs.azure.account.key.myaccount.dfs.core.windows.net",
            "fs.azure.sas.container.myaccount.blob.core.windows.net",
            "fs.azure.account.oauth2.client.secret",
            "my.custom.apikey",
            "my.custom.apiKey",
            "fs.s3a.access.key",
            "fs.s3a.secret.key",
            "fs.s3a.session.token",
            "fs.s3a.bucket.mybucket.secret.key",
            "fs.s3a.encryption.key",
            "fs.gs.auth.service.account.private.key",
            "fs.gs.auth.service.account.private.key.id",
            "spark.ssl.keyPassword",
            "spark.authenticate.secret",
            "hadoop.security.credential.provider.path",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "accessKeyId",
            "db.passwd",
            "signature");

    /** Ordinary settings, among them every key of the job itself. */
    static List<String> ordinaryKeys() {
        List<String> keys = new java.util.ArrayList<>(JobConfig.DEFAULTS.keySet());
        keys.addAll(List.of(
                "fs.s3a.endpoint",
                "fs.s3a.path.style.access",
                "fs.s3a.endpoint.region",
                "fs.azure.account.auth.type",
                "spark.executor.memory",
                "ssl.keystore.type",
                "mapreduce.job.keysort"));
        return keys;
    }

    @Test
    void masksEveryCredentialSetting() {
        for (String key : SECRET_KEYS) {
            assertTrue(Redaction.isSecretName(key), key);
            assertEquals(Redaction.MASK, Redaction.value(key, "s3cr3t-value"), key);
        }
        for (String key : ordinaryKeys()) {
            assertFalse(Redaction.isSecretName(key), key);
            assertEquals("plain", Redaction.value(key, "plain"), key);
        }
    }

    @Test
    void masksCredentialsInUris() {
        assertEquals("s3a://******@bucket/x", Redaction.uri("s3a://AKIA:secret@bucket/x"));
        assertEquals(
                "https://acct.blob.core.windows.net/c/p.png?sv=2022-11-02&sig=******&se=2030",
                Redaction.uri("https://acct.blob.core.windows.net/c/p.png?sv=2022-11-02&sig=AbC%2B&se=2030"));
        assertEquals(
                "https://h/p?X-Amz-Credential=******&X-Amz-Signature=******",
                Redaction.uri("https://h/p?X-Amz-Credential=AKIA%2F2030&X-Amz-Signature=deadbeef"));
        assertEquals("out/run-1?ok=1", Redaction.uri("out/run-1?ok=1"));
    }

    @Test
    void findsCredentialsOnACommandLineAndMasksThemInMessages() {
        List<String> args = List.of(
                "job",
                "--set",
                "hadoop.fs.azure.account.key.acct.blob.core.windows.net=AZ-KEY",
                "--set=hadoop.my.custom.apikey=API-KEY",
                "--set",
                "hadoop.fs.s3a.secret.key",
                "STRAY-SECRET",
                "--set",
                "hadoop.fs.s3a.endpoint=http://127.0.0.1:9000");
        Set<String> secrets = Redaction.secretsIn(args);
        assertEquals(Set.of("AZ-KEY", "API-KEY", "STRAY-SECRET"), secrets);
        assertEquals(
                "Unmatched argument at index 6: '******'; ****** and ****** at s3a://******@b/x",
                Redaction.mask(
                        "Unmatched argument at index 6: 'STRAY-SECRET'; AZ-KEY and API-KEY at s3a://u:p@b/x", secrets));
    }
}
