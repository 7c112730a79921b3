"""Models covering what events encode: decimals, datetimes, UUIDs, foreign keys, files, to_dict()."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models


class Tag(models.Model):
    label = models.CharField(max_length=50)


class Article(models.Model):
    title = models.CharField(max_length=100)
    body = models.TextField(blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    published = models.DateTimeField(null=True, blank=True)
    uid = models.UUIDField(default=uuid.uuid4)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    attachment = models.FileField(upload_to="files/", blank=True)
    tags = models.ManyToManyField(Tag, blank=True)

    def __str__(self):
        return self.title


class Note(models.Model):
    text = models.CharField(max_length=100)
    hidden = models.CharField(max_length=100, default="not sent")

    def to_dict(self):
        return {"text": self.text, "shout": self.text.upper(), "id": self.pk}


class Secret(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=100)
