"""mmaug_is: IAAA / SAAA synthetic data for MMDetection."""
