"""Twelve hearing messages: two concerns, each in the six UN languages (written for these tests)."""

MESSAGES = [  # (concern, language, text)
    ("fish", "en", "Fishing quotas must follow the science."),
    ("fish", "fr", "Les quotas de pêche doivent suivre la science."),
    ("fish", "es", "Las cuotas de pesca deben seguir a la ciencia."),
    ("fish", "ru", "Квоты на вылов рыбы должны основываться на науке."),
    ("fish", "ar", "يجب أن تتبع حصص الصيد العلم."),
    ("fish", "zh", "捕鱼配额必须以科学为依据。"),
    ("plastic", "en", "Stop plastic waste from reaching the rivers."),
    ("plastic", "fr", "Empêchez les déchets plastiques d'atteindre les rivières."),
    ("plastic", "es", "Hay que impedir que los residuos plásticos lleguen a los ríos."),
    ("plastic", "ru", "Не допускайте попадания пластиковых отходов в реки."),
    ("plastic", "ar", "امنعوا وصول النفايات البلاستيكية إلى الأنهار."),
    ("plastic", "zh", "阻止塑料垃圾流入河流。"),
]
